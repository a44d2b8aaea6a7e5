"""Low-rank factorisation of linear and convolution layers (survey family 2).

* ``nn.Linear`` (and 1×1 convolutions, which are the same product): truncated SVD
  ``W ≈ U_k Σ_k V_kᵀ`` becomes two layers, ``n → k`` (``Σ_k^{1/2} V_kᵀ``, no bias) and ``k → m``
  (``U_k Σ_k^{1/2}``, with the bias): ``k(m + n) + m`` parameters instead of ``mn + m``. By
  Eckart–Young the Frobenius error is ``sqrt(Σ_{i>k} σ_i²)``, the smallest of any rank-k matrix.
* ``k×k`` convolutions: Tucker-2 (Kim et al. 2016) over the output and input channel modes,
  ``W ≈ G ×₁ U_out ×₂ U_in``: a 1×1 convolution to ``r_in`` channels, the ``k×k`` core
  convolution ``r_in → r_out`` (same stride, padding and dilation), a 1×1 convolution to the
  output channels. Initialised by truncated HOSVD, refined by a few HOOI sweeps.

The rank is ``rank`` (capped at the layer's sizes) or, with ``energy=e``, the smallest ``k`` with
``Σ_{i≤k} σ_i² ≥ e Σ σ_i²`` (per mode for Tucker-2). A layer is left unchanged when the
factorisation would not reduce its parameters (``only_if_smaller``). Fine-tune afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from methodzoo.shared.compress.masks import bake_
from methodzoo.shared.compress.targets import LayerSelection, find_targets, replace_module
from methodzoo.shared.config import check
from methodzoo.shared.errors import UserError


@dataclass(frozen=True)
class LowRank(LayerSelection):
    """Factorise the selected layers by truncated SVD (linear, 1×1 conv) or Tucker-2 (k×k conv),
    at a fixed ``rank`` or keeping a fraction ``energy`` of the squared singular values."""

    rank: int | None = None
    energy: float | None = None
    tucker_iterations: int = 5
    only_if_smaller: bool = True

    def validate(self) -> None:
        super().validate()
        check((self.rank is None) != (self.energy is None), "give exactly one of rank and energy")
        check(self.rank is None or self.rank >= 1, "rank must be positive, got {}", self.rank)
        check(self.energy is None or 0.0 < self.energy <= 1.0, "energy must be in (0, 1], got {}", self.energy)
        check(self.tucker_iterations >= 0, "tucker_iterations must be >= 0, got {}", self.tucker_iterations)


def energy_rank(singular_values: torch.Tensor, energy: float) -> int:
    """The smallest ``k`` with ``Σ_{i≤k} σ_i² ≥ energy · Σ σ_i²``."""
    squares = singular_values.double().pow(2)
    cumulative = torch.cumsum(squares, 0) / squares.sum().clamp_min(torch.finfo(torch.float64).tiny)
    return min(int(torch.searchsorted(cumulative, torch.tensor(energy, dtype=torch.float64) - 1e-12)) + 1,
               singular_values.numel())


def choose_rank(singular_values: torch.Tensor, config: LowRank) -> int:
    if config.rank is not None:
        return min(config.rank, singular_values.numel())
    assert config.energy is not None
    return energy_rank(singular_values, config.energy)


class FactorizedLinear(nn.Module):
    """``second(first(x))``: ``n → k`` without bias, then ``k → m`` with the original bias."""

    def __init__(self, first: nn.Module, second: nn.Module) -> None:
        super().__init__()
        self.first = first
        self.second = second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


class Tucker2Conv(nn.Module):
    """``expand(core(reduce(x)))``: 1×1 (C_in → r_in), k×k (r_in → r_out), 1×1 (r_out → C_out)."""

    def __init__(self, reduce: nn.Module, core: nn.Module, expand: nn.Module) -> None:
        super().__init__()
        self.reduce = reduce
        self.core = core
        self.expand = expand

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.expand(self.core(self.reduce(x)))


def svd_factors(weight: torch.Tensor, config: LowRank) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(A, B, k)`` with ``weight ≈ B @ A``: ``A = Σ_k^{1/2} V_kᵀ (k×n)``, ``B = U_k Σ_k^{1/2} (m×k)``."""
    U, S, Vh = torch.linalg.svd(weight.detach().double(), full_matrices=False)
    k = choose_rank(S, config)
    root = S[:k].sqrt()
    return (root[:, None] * Vh[:k]).to(weight.dtype), (U[:, :k] * root).to(weight.dtype), k


@torch.no_grad()
def factorize_linear(layer: nn.Linear, config: LowRank) -> nn.Module:
    A, B, k = svd_factors(layer.weight, config)
    m, n = layer.weight.shape
    if config.only_if_smaller and k * (m + n) >= m * n:
        return layer
    first = nn.Linear(n, k, bias=False, device=layer.weight.device, dtype=layer.weight.dtype)
    second = nn.Linear(k, m, bias=layer.bias is not None, device=layer.weight.device, dtype=layer.weight.dtype)
    first.weight.copy_(A)
    second.weight.copy_(B)
    if layer.bias is not None and second.bias is not None:
        second.bias.copy_(layer.bias)
    return FactorizedLinear(first, second)


def _conv_like(layer: nn.Conv2d, in_channels: int, out_channels: int, kernel: bool, bias: bool) -> nn.Conv2d:
    if kernel:
        kernel_size, stride, padding, dilation = (cast(Any, v) for v in (layer.kernel_size, layer.stride,
                                                                         layer.padding, layer.dilation))
        return nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=bias,
                         padding_mode=layer.padding_mode, device=layer.weight.device, dtype=layer.weight.dtype)
    return nn.Conv2d(in_channels, out_channels, 1, bias=bias, device=layer.weight.device, dtype=layer.weight.dtype)


@torch.no_grad()
def factorize_pointwise(layer: nn.Conv2d, config: LowRank) -> nn.Module:
    """A 1×1 convolution as the product of two 1×1 convolutions (SVD); stride stays on the first."""
    weight = layer.weight[:, :, 0, 0]
    A, B, k = svd_factors(weight, config)
    m, n = weight.shape
    if config.only_if_smaller and k * (m + n) >= m * n:
        return layer
    first = nn.Conv2d(n, k, 1, stride=layer.stride, padding=layer.padding, bias=False,  # type: ignore[arg-type]
                      device=weight.device, dtype=weight.dtype)
    second = nn.Conv2d(k, m, 1, bias=layer.bias is not None, device=weight.device, dtype=weight.dtype)
    first.weight.copy_(A[:, :, None, None])
    second.weight.copy_(B[:, :, None, None])
    if layer.bias is not None and second.bias is not None:
        second.bias.copy_(layer.bias)
    return FactorizedLinear(first, second)


def mode_unfold(tensor: torch.Tensor, mode: int) -> torch.Tensor:
    """The mode-``mode`` matricisation: ``(size along mode, everything else)``."""
    return tensor.movedim(mode, 0).reshape(tensor.shape[mode], -1)


def tucker2(weight: torch.Tensor, config: LowRank) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(core (r_out, r_in, kh, kw), U_out (C_out, r_out), U_in (C_in, r_in))`` with
    ``weight ≈ core ×₁ U_out ×₂ U_in``."""
    W = weight.detach().double()
    singular = [torch.linalg.svdvals(mode_unfold(W, mode)) for mode in (0, 1)]
    ranks = [choose_rank(s, config) for s in singular]
    factors = [torch.linalg.svd(mode_unfold(W, mode), full_matrices=False)[0][:, :r]
               for mode, r in zip((0, 1), ranks, strict=True)]
    for _ in range(config.tucker_iterations):  # HOOI: each factor given the other
        projected = torch.einsum("oikl,ib->obkl", W, factors[1])
        factors[0] = torch.linalg.svd(mode_unfold(projected, 0), full_matrices=False)[0][:, :ranks[0]]
        projected = torch.einsum("oikl,oa->aikl", W, factors[0])
        factors[1] = torch.linalg.svd(mode_unfold(projected, 1), full_matrices=False)[0][:, :ranks[1]]
    core = torch.einsum("oikl,oa,ib->abkl", W, factors[0], factors[1])
    return core.to(weight.dtype), factors[0].to(weight.dtype), factors[1].to(weight.dtype)


@torch.no_grad()
def factorize_conv(layer: nn.Conv2d, config: LowRank) -> nn.Module:
    pointwise = layer.kernel_size == (1, 1) and layer.stride == (1, 1) and layer.padding in ((0, 0), "valid")
    # Subclasses (e.g. "same"-padding convolutions that pad in forward) are only safe when pointwise.
    if layer.groups != 1 or (type(layer) is not nn.Conv2d and not pointwise):
        return layer
    if layer.kernel_size == (1, 1):
        return factorize_pointwise(layer, config)
    core, u_out, u_in = tucker2(layer.weight, config)
    r_out, r_in = core.shape[:2]
    out_channels, in_channels, kh, kw = layer.weight.shape
    factorized = in_channels * r_in + r_in * r_out * kh * kw + r_out * out_channels
    if config.only_if_smaller and factorized >= layer.weight.numel():
        return layer
    reduce = _conv_like(layer, in_channels, r_in, kernel=False, bias=False)
    middle = _conv_like(layer, r_in, r_out, kernel=True, bias=False)
    expand = _conv_like(layer, r_out, out_channels, kernel=False, bias=layer.bias is not None)
    reduce.weight.copy_(u_in.T[:, :, None, None])
    middle.weight.copy_(core)
    expand.weight.copy_(u_out[:, :, None, None])
    if layer.bias is not None and expand.bias is not None:
        expand.bias.copy_(layer.bias)
    return Tucker2Conv(reduce, middle, expand)


def factorize_(model: nn.Module, config: LowRank) -> nn.Module:
    """Replace the selected linear and 2-d convolution layers by their factorisations, in place."""
    if not isinstance(config, LowRank):
        raise UserError(f"factorize_ takes a LowRank config, got {type(config).__name__}")
    targets = [t for t in find_targets(model, config, kinds=("linear", "conv"))
               if isinstance(t.module, (nn.Linear, nn.Conv2d))]
    if not targets:
        raise UserError("LowRank: no nn.Linear or nn.Conv2d layers selected")
    for target in targets:
        bake_(target.module, target.tensor)  # a pruned layer is factorised as it computes
        layer = target.module
        new = factorize_linear(layer, config) if isinstance(layer, nn.Linear) else factorize_conv(layer, config)  # type: ignore[arg-type]
        if new is layer:
            continue
        if not target.name:
            raise UserError("factorize_ cannot replace the root module; wrap the layer in a container")
        replace_module(model, target.name, new)
    return model
