"""Mixup in image space (Zhang et al. 2018), the augmentation rp-har adds to the encoding.

``λ ~ Beta(α, α)``, ``x̃ = λ·x_i + (1 − λ)·x_j``, ``ỹ = λ·y_i + (1 − λ)·y_j`` with one-hot
``y`` and ``j`` a random permutation of the batch; one λ per batch, as in the mixup paper.
``take_max`` is tsai's variant ``λ ← max(λ, 1 − λ)``, which keeps every mixed image closer to
its own label.
"""

from __future__ import annotations

import torch

from methodzoo.shared.errors import ConfigError


def sample_mixup_lambda(alpha: float, generator: torch.Generator, *, take_max: bool = False) -> float:
    """One draw of ``Beta(α, α)`` by inverting its CDF at a uniform from ``generator`` (so the
    draw is reproducible from the generator alone); α = 0 means no mixing (λ = 1)."""
    if alpha < 0:
        raise ConfigError(f"mixup alpha must be >= 0, got {alpha}")
    if alpha == 0:
        return 1.0
    from scipy.special import betaincinv

    uniform = float(torch.rand((), generator=generator, dtype=torch.float64))
    lam = float(betaincinv(alpha, alpha, uniform))
    return max(lam, 1.0 - lam) if take_max else lam


def mixup(inputs: torch.Tensor, targets: torch.Tensor, alpha: float, generator: torch.Generator, *,
          take_max: bool = False) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Mix a batch: ``inputs`` ``(B, …)`` and soft or one-hot ``targets`` ``(B, classes)`` →
    ``(mixed inputs, mixed targets, λ)``. Targets that sum to one keep summing to one.

    ``generator`` is a CPU generator; the permutation is drawn on the CPU and moved to the
    inputs' device.
    """
    if inputs.shape[0] != targets.shape[0]:
        raise ConfigError(f"{inputs.shape[0]} inputs but {targets.shape[0]} targets")
    lam = sample_mixup_lambda(alpha, generator, take_max=take_max)
    if lam == 1.0:
        return inputs, targets, lam
    order = torch.randperm(inputs.shape[0], generator=generator).to(inputs.device)
    mixed_inputs = torch.lerp(inputs[order], inputs, lam)  # λ·x + (1 − λ)·x[order]
    mixed_targets = torch.lerp(targets[order], targets, lam)
    return mixed_inputs, mixed_targets, lam


__all__ = ["mixup", "sample_mixup_lambda"]
