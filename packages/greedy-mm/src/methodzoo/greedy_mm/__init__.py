"""methodzoo.greedy_mm: Conditional utilization rates, conditional learning speed and balanced multi-modal learning (Wu et al., ICML 2022). (being built)."""

__all__: list[str] = []
