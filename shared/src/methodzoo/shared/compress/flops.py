"""FLOP counting that is right for any ``nn.Module``, attention included.

Built on ``torch.utils.flop_counter.FlopCounterMode``, which counts the matrix products
(linear, convolution, batched matmul, scaled-dot-product attention) at the ATen level. Two gaps
are closed here:

* in eval mode ``nn.MultiheadAttention`` and ``nn.TransformerEncoderLayer`` take a fused fast
  path (``_native_multi_head_attention``, ``_transformer_encoder_layer_fwd``) that torch's
  counter scores as 0. We turn the fast path off while counting (the unfused path computes the
  same products) and also give those fused ops formulas, for code that calls them directly;
* int8 products (``torch._int_mm``, ``quantized::linear_dynamic``) get formulas too.

Units: **2 FLOPs = 1 MAC** (a multiply-accumulate); ``FlopCount.macs`` is ``flops // 2``.
Element-wise work (activations, normalisation, softmax) is not counted, as in torch's counter
and most papers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class FlopCount:
    """Total FLOPs of one forward pass, by operator and by module (2 FLOPs = 1 MAC)."""

    flops: int
    by_operator: dict[str, int] = field(default_factory=dict)
    by_module: dict[str, int] = field(default_factory=dict)

    @property
    def macs(self) -> int:
        return self.flops // 2


def _attention_flops(batch: int, target: int, source: int, embed: int, heads: int) -> int:
    """Scores ``QKᵀ`` and values ``AV``: ``2·B·L·S·E`` MACs."""
    return 2 * (2 * batch * target * source * embed)


def _native_mha_flops(query: Any, key: Any, value: Any, embed_dim: int, num_heads: int, *args: Any,
                      out_shape: Any = None, **kwargs: Any) -> int:
    batch, target, _ = query
    source = key[1]
    projections = 2 * batch * (target * embed_dim * embed_dim + 2 * source * embed_dim * embed_dim
                               + target * embed_dim * embed_dim)
    return projections + _attention_flops(batch, target, source, embed_dim, num_heads)


def _encoder_layer_flops(src: Any, embed_dim: int, num_heads: int, qkv_weight: Any, qkv_bias: Any,
                         proj_weight: Any, proj_bias: Any, use_gelu: bool, norm_first: bool, eps: float,
                         norm_weight_1: Any, norm_bias_1: Any, norm_weight_2: Any, norm_bias_2: Any,
                         ffn_weight_1: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    batch, tokens, _ = src
    hidden = ffn_weight_1[0]
    attention = _native_mha_flops(src, src, src, embed_dim, num_heads)
    return attention + 2 * batch * tokens * 2 * embed_dim * hidden


def _int_mm_flops(a: Any, b: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    return 2 * a[0] * a[1] * b[1]


def _dynamic_linear_flops(x: Any, packed: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    rows = 1
    for size in out_shape[:-1]:
        rows *= size
    return 2 * rows * x[-1] * out_shape[-1]


def _extra_formulas() -> dict[Any, Any]:
    formulas: dict[Any, Any] = {}
    aten = torch.ops.aten
    for name, formula in (("_native_multi_head_attention", _native_mha_flops),
                          ("_transformer_encoder_layer_fwd", _encoder_layer_flops),
                          ("_int_mm", _int_mm_flops)):
        if hasattr(aten, name):
            formulas[getattr(aten, name)] = formula
    quantized = getattr(torch.ops, "quantized", None)
    if quantized is not None:
        with contextlib.suppress(AttributeError, RuntimeError):
            formulas[quantized.linear_dynamic] = _dynamic_linear_flops
    return formulas


@contextlib.contextmanager
def unfused_attention() -> Iterator[None]:
    """Turn off the fused multi-head-attention fast path for the duration."""
    backend = getattr(torch.backends, "mha", None)
    if backend is None:
        yield
        return
    previous = backend.get_fastpath_enabled()
    backend.set_fastpath_enabled(False)
    try:
        yield
    finally:
        backend.set_fastpath_enabled(previous)


@torch.no_grad()
def count_flops(model: nn.Module, *inputs: Any, **kwargs: Any) -> FlopCount:
    """FLOPs of ``model(*inputs, **kwargs)`` (one forward pass, in the model's current mode)."""
    with unfused_attention(), FlopCounterMode(display=False, custom_mapping=_extra_formulas()) as counter:
        model(*inputs, **kwargs)
    counts = counter.get_flop_counts()
    total = int(counter.get_total_flops())
    by_operator = {str(op).split(".")[-1] if "." in str(op) else str(op): int(v)
                   for op, v in counts.get("Global", {}).items()}
    root = type(model).__name__
    by_module: dict[str, int] = {}
    for name, ops in counts.items():
        if name == "Global":
            continue
        short = name[len(root) + 1:] if name.startswith(root + ".") else ("" if name == root else name)
        by_module[short] = int(sum(ops.values()))
    return FlopCount(total, by_operator, by_module)
