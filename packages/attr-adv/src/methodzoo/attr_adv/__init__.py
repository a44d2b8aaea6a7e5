"""methodzoo.attr_adv: Attribute-guided adversarial training for robustness to natural perturbations (Gokhale et al., AAAI 2021). (being built)."""

__all__: list[str] = []
