"""methodzoo.cap_prune: Contrastive Pruning (PrC, FiC, SnC) of pre-trained language models (Xu et al., AAAI 2022). (being built)."""

__all__: list[str] = []
