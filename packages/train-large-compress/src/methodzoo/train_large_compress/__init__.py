"""methodzoo.train_large_compress: Train large, then compress: model size against convergence and robustness to compression (Li et al., ICML 2020). (being built)."""

__all__: list[str] = []
