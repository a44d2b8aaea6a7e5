"""Binary weights: BinaryConnect (Courbariaux et al. 2015) and XNOR-Net scaling (Rastegari et al. 2016).

The weight used in the forward pass is ``s · B`` with ``B = sign(W)`` (+1 at 0) and, for XNOR,
``s = ‖W_c‖₁ / n`` per output channel ``c`` — the ``s`` minimising ``‖W_c − s B_c‖²`` — or ``s = 1``
for BinaryConnect. The real-valued ``W`` is kept for training; its gradient is the
straight-through estimator ``∂L/∂W = ∂L/∂W_b · 1[|W| ≤ 1]`` (BinaryConnect's hard-tanh).
Storage: one bit per weight plus a 32-bit scale per channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from methodzoo.shared.compress.parametrized import register_
from methodzoo.shared.compress.targets import LayerSelection, find_targets
from methodzoo.shared.errors import UserError


@dataclass(frozen=True)
class Binarize(LayerSelection):
    """Binarize the selected weights; ``scaling="xnor"`` (per-channel mean |W|) or ``"none"``
    (BinaryConnect, ±1)."""

    scaling: Literal["xnor", "none"] = "xnor"


def xnor_scale(weight: torch.Tensor) -> torch.Tensor:
    """``‖W_c‖₁ / n`` per output channel, shaped to broadcast against ``weight``."""
    return weight.abs().reshape(weight.shape[0], -1).mean(1).view(-1, *([1] * (weight.ndim - 1)))


def binary_sign(weight: torch.Tensor) -> torch.Tensor:
    """``sign`` with ``sign(0) = +1``, so every weight is ±1."""
    return torch.where(weight >= 0, 1.0, -1.0).to(weight.dtype)


class BinaryWeight(nn.Module):
    """Parametrization ``W ↦ s · sign(W)`` with the straight-through gradient."""

    def __init__(self, scaling: Literal["xnor", "none"] = "xnor") -> None:
        super().__init__()
        self.scaling = scaling

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        binary = binary_sign(weight.detach())
        if self.scaling == "xnor":
            binary = binary * xnor_scale(weight.detach())
        clipped = weight.clamp(-1.0, 1.0)  # gradient 1 inside [-1, 1], 0 outside
        # ``c − sg(c)`` is exactly 0, so the value is exactly the binary weight
        return binary + (clipped - clipped.detach())

    def sliced(self, dim: int, index: torch.Tensor) -> BinaryWeight:
        return self


def binarize_(model: nn.Module, config: Binarize) -> None:
    """Give every selected weight a :class:`BinaryWeight` parametrization."""
    targets = find_targets(model, config, kinds=("linear", "conv"))
    if not targets:
        raise UserError("Binarize: no linear or convolution weights selected")
    for target in targets:
        register_(target.module, target.tensor, BinaryWeight(config.scaling))
