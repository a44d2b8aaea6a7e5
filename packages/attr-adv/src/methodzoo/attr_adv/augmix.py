"""AugMix-style mixing (Hendrycks et al., ICLR 2020) over the attribute space's transforms.

Each image gets ``k`` chains of 1–3 operations; an operation sets one attribute, chosen
uniformly, to a value drawn uniformly from its training range (the other attributes neutral).
The chains are mixed with Dirichlet(α) weights and the mixture with the image by m ~ Beta(α, α).
Training adds the Jensen–Shannon consistency between the clean image and two AugMix views.
Using the attribute space as AugMix's operation set gives it exactly the knowledge of the test
shifts that random augmentation and AGAT get.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methodzoo.attr_adv.config import AugMixConfig
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.attr_adv.transforms import draw_noise
from methodzoo.shared.seed import numpy_rng

MAX_DEPTH = 3


def _one_operation(space: AttributeSpace, images: torch.Tensor, active: torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
    """Per image where ``active``: one random attribute at a random value of its range."""
    n = images.shape[0]
    values = space.sample(n, generator, like=images)  # (N, K)
    choice = torch.randint(space.dim, (n,), generator=generator, device=generator.device).to(images.device)
    keep = F.one_hot(choice, space.dim).to(images.dtype) * active[:, None].to(images.dtype)
    noise = draw_noise(images, generator) if "noise" in space.names else None
    return space.apply(images, values * keep, noise=noise)  # zero rows are a₀: the identity


def augmix(images: torch.Tensor, space: AttributeSpace, config: AugMixConfig | None = None,
           generator: torch.Generator | None = None) -> torch.Tensor:
    """One AugMix view of a batch ``(N, C, H, W)`` in [0, 1]."""
    config = config or AugMixConfig()
    generator = generator if generator is not None else torch.Generator().manual_seed(0)
    n, k = images.shape[0], config.augmix_width
    rng = numpy_rng(generator)
    weights = torch.as_tensor(rng.dirichlet([config.augmix_alpha] * k, size=n), dtype=images.dtype,
                              device=images.device)  # (N, k)
    mix = torch.as_tensor(rng.beta(config.augmix_alpha, config.augmix_alpha, size=n), dtype=images.dtype,
                          device=images.device)  # (N,)
    mixed = torch.zeros_like(images)
    for chain in range(k):
        if config.augmix_depth > 0:
            depth = torch.full((n,), config.augmix_depth, device=images.device)
        else:
            depth = torch.as_tensor(rng.integers(1, MAX_DEPTH + 1, size=n), device=images.device)
        augmented = images
        for level in range(int(depth.max())):
            augmented = _one_operation(space, augmented, depth > level, generator)
        mixed = mixed + weights[:, chain, None, None, None] * augmented
    return mix[:, None, None, None] * images + (1 - mix[:, None, None, None]) * mixed


def jensen_shannon(*logits: torch.Tensor) -> torch.Tensor:
    """JS divergence among the predictive distributions, as in AugMix's reference code."""
    probabilities = [x.softmax(dim=1) for x in logits]
    log_mixture = torch.stack(probabilities).mean(dim=0).clamp(1e-7, 1).log()
    return sum(F.kl_div(log_mixture, p, reduction="batchmean") for p in probabilities) / len(probabilities)


__all__ = ["augmix", "jensen_shannon"]
