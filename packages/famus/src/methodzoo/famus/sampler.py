"""The per-layer gradient sampler Γ(ḡ_l; η_l) of FaMUS (Eq. 8) and its hard Gumbel-softmax gate."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

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


class LayerSamplers(nn.Module):
    """Γ(·; η_l) for all U gated layers at once: U independent MLPs run as batched matmuls.

    Layer l's input ḡ_l has its own length D_l; inputs are zero-padded to max D_l, and the padded
    input weights are zero and receive exactly zero gradient, so each MLP is the same function
    (and is trained the same way) as a separate :class:`GradientSampler` with ``in_features=D_l``.
    One batched module instead of U small ones keeps the sampler's cost per iteration flat.
    """

    def __init__(self, in_features: Sequence[int], hidden: int = 128, depth: int = 2) -> None:
        super().__init__()
        if depth not in (2, 3):
            raise ConfigError(f"sampler depth must be 2 or 3, got {depth}")
        if not in_features or min(in_features) < 1:
            raise ConfigError(f"every sampler needs at least one input feature, got {list(in_features)}")
        self.in_features = tuple(int(d) for d in in_features)
        units, widest = len(self.in_features), max(self.in_features)
        sizes = [widest] + [hidden] * (depth - 1) + [2]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        fan_in = torch.tensor(self.in_features, dtype=torch.float32)  # (U,)
        for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            # nn.Linear's default init: U(−1/√fan_in, 1/√fan_in) for weight and bias
            bound = (fan_in if k == 0 else torch.full((units,), float(n_in))).rsqrt()  # (U,)
            weight = (torch.rand(units, n_in, n_out) * 2 - 1) * bound[:, None, None]  # (U, in, out)
            if k == 0:
                padding = torch.arange(n_in)[None, :] >= fan_in[:, None]  # (U, in): padded inputs
                weight[padding] = 0.0
            self.weights.append(nn.Parameter(weight))
            self.biases.append(nn.Parameter((torch.rand(units, n_out) * 2 - 1) * bound[:, None]))
        self.prelu = nn.Parameter(torch.full((depth - 1, units), 0.25))  # nn.PReLU's default slope

    def forward(self, pooled_grads: torch.Tensor) -> torch.Tensor:
        """``(U, max D_l)`` zero-padded inputs → logits ``(U, 2)``."""
        h = pooled_grads.unsqueeze(1)  # (U, 1, D)
        last = len(self.weights) - 1
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(bias.unsqueeze(1), h, weight)  # (U, 1, out)
            if k < last:
                h = torch.where(h >= 0, h, self.prelu[k][:, None, None] * h)
        return h.squeeze(1)  # (U, 2)
