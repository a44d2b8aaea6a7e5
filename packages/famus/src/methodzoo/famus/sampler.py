"""The per-layer gradient sampler Γ(ḡ_l; η_l) of FaMUS (Eq. 8) and its hard Gumbel-softmax gate."""

from __future__ import annotations

import torch
from torch import nn

from methodzoo.shared.errors import ConfigError


def gumbel_gate(logits: torch.Tensor, tau: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """r ∈ {0, 1}: a hard Gumbel-softmax sample of "on" (index 1) with a straight-through gradient.

    ``logits`` has shape ``(..., 2)``. The forward value is exactly 0.0 or 1.0 (the soft part is
    added as ``soft − soft.detach()``, which is exactly zero); the backward is that of the
    soft sample softmax((logits + g) / τ), g ~ Gumbel(0, 1).
    """
    if logits.shape[-1] != 2:
        raise ConfigError(f"gate logits must have 2 entries in the last dimension, got shape {tuple(logits.shape)}")
    if tau <= 0:
        raise ConfigError(f"gumbel temperature must be positive, got {tau}")
    uniform = torch.rand(logits.shape, generator=generator, device="cpu", dtype=torch.float64)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-12)))  # (..., 2)
    soft = torch.softmax((logits + gumbel.to(logits)) / tau, dim=-1)
    hard = (soft.argmax(dim=-1) == 1).to(logits.dtype)
    return hard + (soft[..., 1] - soft[..., 1].detach())


class GradientSampler(nn.Module):
    """Γ(·; η_l): ḡ_l ``(D,)`` → logits ``(2,)`` of (off, on). 2 layers (paper) or 3 (code), PReLU."""

    def __init__(self, in_features: int, hidden: int = 128, depth: int = 2) -> None:
        super().__init__()
        if depth not in (2, 3):
            raise ConfigError(f"sampler depth must be 2 or 3, got {depth}")
        layers: list[nn.Module] = [nn.Linear(in_features, hidden), nn.PReLU()]
        if depth == 3:
            layers += [nn.Linear(hidden, hidden), nn.PReLU()]
        layers.append(nn.Linear(hidden, 2))
        self.net = nn.Sequential(*layers)

    def forward(self, pooled_grad: torch.Tensor) -> torch.Tensor:
        return self.net(pooled_grad)  # (2,)
