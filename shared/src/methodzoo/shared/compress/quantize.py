"""``quantize_(model, config)``: one verb for every quantization method, chosen by the config.

* :class:`~.fakequant.FakeQuant`: uniform fake quantization of weights (and optionally
  activations, then :func:`~.fakequant.calibrate`), for accuracy studies and QAT.
* :class:`~.int8.Int8Dynamic`: real int8 linear layers.
* :class:`~.sharing.WeightSharing`: k-means weight sharing (Deep Compression).
* :class:`~.binary.Binarize`: binary weights with XNOR scaling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from methodzoo.shared.compress.binary import Binarize, binarize_
from methodzoo.shared.compress.fakequant import (
    ActivationFakeQuantizer,
    FakeQuant,
    WeightFakeQuantizer,
    quantize_input_hook,
)
from methodzoo.shared.compress.int8 import Int8Dynamic, apply_int8_
from methodzoo.shared.compress.parametrized import register_
from methodzoo.shared.compress.sharing import WeightSharing, share_weights_
from methodzoo.shared.compress.targets import find_targets, kind_of
from methodzoo.shared.config import Config
from methodzoo.shared.errors import ConfigError, UserError


def _fake_quant_(model: nn.Module, config: FakeQuant) -> None:
    targets = find_targets(model, config)
    if not targets:
        raise UserError("FakeQuant: no linear, convolution or attention weights selected")
    for target in targets:
        register_(target.module, target.tensor,
                  WeightFakeQuantizer(config.bits, config.per_channel, config.symmetric, config.rounding))
    if config.activation_bits is None:
        return
    for module in {id(t.module): t.module for t in targets}.values():
        if kind_of(module) not in ("linear", "conv"):
            continue  # attention takes three inputs; its projections are quantized as weights only
        if isinstance(getattr(module, "input_quantizer", None), ActivationFakeQuantizer):
            continue
        module.input_quantizer = ActivationFakeQuantizer(config.activation_bits, config.symmetric)
        module.input_quantizer.train(module.training)
        module.register_forward_pre_hook(quantize_input_hook)


_QUANTIZERS: dict[type[Config], Callable[[nn.Module, Any], None]] = {
    FakeQuant: _fake_quant_,
    Int8Dynamic: apply_int8_,
    WeightSharing: share_weights_,
    Binarize: binarize_,
}


def quantize_(model: nn.Module, config: Config) -> nn.Module:
    """Quantize ``model`` in place as ``config`` says and return it."""
    quantizer = _QUANTIZERS.get(type(config))
    if quantizer is None:
        valid = ", ".join(sorted(t.__name__ for t in _QUANTIZERS))
        raise ConfigError(f"quantize_ does not know {type(config).__name__}; use one of {valid}")
    quantizer(model, config)
    return model
