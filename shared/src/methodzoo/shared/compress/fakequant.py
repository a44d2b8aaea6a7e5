"""Uniform fake quantization: weights and activations rounded to a ``b``-bit grid and dequantized,
so a float model computes what an integer one would (for accuracy studies and QAT).

The grid for ``b`` bits (Jacob et al. 2018):

* symmetric: integers ``−(2^{b−1}−1) … 2^{b−1}−1``, scale ``max|x| / (2^{b−1}−1)``, zero point 0;
* asymmetric: integers ``0 … 2^b−1``, scale ``(max − min)/(2^b−1)`` with the range stretched to
  contain 0 and an integer zero point, so 0 (every pruned weight) stays exactly 0.

Either way a channel (or tensor) takes at most ``2^b`` distinct values. Rounding is to nearest,
or *stochastic* (Gupta et al. 2015): ``⌊x⌋_ε`` with probability ``1 − (x − ⌊x⌋_ε)/ε``, else
``⌊x⌋_ε + ε`` — unbiased, ``E[round(x)] = x``. The backward pass is the straight-through
estimator: the gradient passes unchanged inside the representable range and is zero outside.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from methodzoo.shared.compress.prune import feed_batch
from methodzoo.shared.compress.targets import LayerSelection
from methodzoo.shared.config import check
from methodzoo.shared.errors import UserError

Rounding = Literal["nearest", "stochastic"]


@dataclass(frozen=True)
class FakeQuant(LayerSelection):
    """Fake-quantize the weights of the selected layers to ``bits`` (2–8), per output channel or
    per tensor, symmetric or asymmetric; with ``activation_bits`` also each layer's input, whose
    range comes from :func:`calibrate` (post-training) or a running min/max while training (QAT).

    ``rounding="stochastic"`` rounds stochastically in training mode (nearest in eval mode).
    """

    bits: int = 8
    per_channel: bool = True
    symmetric: bool = True
    rounding: Rounding = "nearest"
    activation_bits: int | None = None

    def validate(self) -> None:
        super().validate()
        check(2 <= self.bits <= 8, "bits must be in 2..8, got {}", self.bits)
        check(self.activation_bits is None or 2 <= self.activation_bits <= 8,
              "activation_bits must be in 2..8, got {}", self.activation_bits)


def integer_range(bits: int, symmetric: bool) -> tuple[int, int]:
    """The smallest and largest integer of the ``bits``-bit grid."""
    if symmetric:
        return -(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def scale_and_zero_point(minimum: torch.Tensor, maximum: torch.Tensor, bits: int,
                         symmetric: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and (integer-valued) zero point mapping ``[minimum, maximum]`` onto the grid."""
    low, high = integer_range(bits, symmetric)
    tiny = torch.finfo(torch.float32).tiny
    if symmetric:
        scale = torch.maximum(minimum.abs(), maximum.abs()).clamp_min(tiny) / high
        return scale, torch.zeros_like(scale)
    minimum, maximum = minimum.clamp(max=0.0), maximum.clamp(min=0.0)
    scale = ((maximum - minimum) / (high - low)).clamp_min(tiny)
    zero_point = (low - minimum / scale).round().clamp(low, high)
    return scale, zero_point


def stochastic_round(x: torch.Tensor, step: float | torch.Tensor = 1.0,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Round ``x`` to a multiple of ``step``, up with probability equal to the remainder's
    fraction of ``step`` (so ``E[stochastic_round(x)] = x``)."""
    scaled = x / step
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return torch.floor(scaled + noise) * step


def fake_quantize(x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor, bits: int,
                  symmetric: bool, rounding: Rounding = "nearest",
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Quantize to the grid and back, with the straight-through gradient."""
    low, high = integer_range(bits, symmetric)
    scaled = x / scale + zero_point
    rounded = stochastic_round(scaled, 1.0, generator) if rounding == "stochastic" else torch.round(scaled)
    dequantized = (rounded.clamp(low, high) - zero_point) * scale
    inside = (scaled >= low - 0.5) & (scaled <= high + 0.5)
    passthrough = torch.where(inside, x, x.detach())
    # ``p − sg(p)`` is exactly 0: the value is exactly on the grid, the gradient passes through
    return dequantized.detach() + (passthrough - passthrough.detach())


def _channel_view(weight: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    return values.view(-1, *([1] * (weight.ndim - 1)))


class WeightFakeQuantizer(nn.Module):
    """Parametrization ``W ↦ fake_quantize(W)`` with the range of the current weights (min/max per
    output channel or of the whole tensor), so it follows the weights during QAT."""

    def __init__(self, bits: int, per_channel: bool = True, symmetric: bool = True,
                 rounding: Rounding = "nearest") -> None:
        super().__init__()
        self.bits = bits
        self.per_channel = per_channel
        self.symmetric = symmetric
        self.rounding = rounding

    def scale_and_zero_point(self, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        detached = weight.detach()
        if self.per_channel and weight.ndim > 1:
            flat = detached.reshape(weight.shape[0], -1)
            scale, zero = scale_and_zero_point(flat.min(1).values, flat.max(1).values, self.bits, self.symmetric)
            return _channel_view(weight, scale), _channel_view(weight, zero)
        return scale_and_zero_point(detached.min(), detached.max(), self.bits, self.symmetric)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        scale, zero = self.scale_and_zero_point(weight)
        rounding: Rounding = self.rounding if self.training else "nearest"
        return fake_quantize(weight, scale, zero, self.bits, self.symmetric, rounding)

    def sliced(self, dim: int, index: torch.Tensor) -> WeightFakeQuantizer:
        return self  # the range is computed from the (sliced) weights themselves

    def scales(self, weight: torch.Tensor) -> int:
        """How many scales (and zero points) storing ``weight`` needs."""
        return weight.shape[0] if self.per_channel and weight.ndim > 1 else 1


class ActivationFakeQuantizer(nn.Module):
    """Fake-quantizes a layer's input to ``bits`` per tensor.

    The range is a running min/max while training (momentum ``momentum``), fixed in eval mode,
    and set from calibration batches by :func:`calibrate` (post-training quantization).
    """

    minimum: torch.Tensor
    maximum: torch.Tensor

    def __init__(self, bits: int, symmetric: bool = True, momentum: float = 0.01) -> None:
        super().__init__()
        self.bits = bits
        self.symmetric = symmetric
        self.momentum = momentum
        self.observing = False
        self.register_buffer("minimum", torch.tensor(float("inf")))
        self.register_buffer("maximum", torch.tensor(float("-inf")))

    @property
    def calibrated(self) -> bool:
        return bool(torch.isfinite(self.minimum)) and bool(torch.isfinite(self.maximum))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low, high = x.detach().min(), x.detach().max()
        if self.observing:
            self.minimum.copy_(torch.minimum(self.minimum, low))
            self.maximum.copy_(torch.maximum(self.maximum, high))
            return x
        if self.training:
            if self.calibrated:
                self.minimum.lerp_(low, self.momentum)
                self.maximum.lerp_(high, self.momentum)
            else:
                self.minimum.copy_(low)
                self.maximum.copy_(high)
        elif not self.calibrated:
            raise UserError("activation quantizer has no range: run calibrate(model, batches) "
                            "(or train) before evaluating")
        scale, zero = scale_and_zero_point(self.minimum, self.maximum, self.bits, self.symmetric)
        return fake_quantize(x, scale, zero, self.bits, self.symmetric)


def quantize_input_hook(module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Forward pre-hook applying ``module.input_quantizer`` to the first input (a module-level
    function, so deep copies of the model keep working)."""
    quantizer = module.get_submodule("input_quantizer")
    return (quantizer(args[0]), *args[1:])


@torch.no_grad()
def calibrate(model: nn.Module, batches: Iterable[Any]) -> nn.Module:
    """Post-training calibration: set every activation quantizer's range to the min/max of its
    inputs over ``batches`` (tensors, tuples of positional inputs or dicts of keyword inputs)."""
    quantizers = [m for m in model.modules() if isinstance(m, ActivationFakeQuantizer)]
    if not quantizers:
        raise UserError("calibrate: the model has no activation quantizers "
                        "(quantize_ with FakeQuant(activation_bits=...) first)")
    was_training = model.training
    model.eval()
    for quantizer in quantizers:
        quantizer.minimum.fill_(float("inf"))
        quantizer.maximum.fill_(float("-inf"))
        quantizer.observing = True
    try:
        seen = 0
        for batch in batches:
            feed_batch(model, batch)
            seen += 1
        if seen == 0:
            raise UserError("calibrate: no calibration batches")
    finally:
        for quantizer in quantizers:
            quantizer.observing = False
        model.train(was_training)
    return model
