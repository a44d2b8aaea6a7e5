"""The survey's metrics: parameters (nominal and effective), size in bits, compression rate α,
index space saving β and speedup δ — plus FLOPs — for a dense model and its compressed version.

Conventions (Cheng et al., section "evaluation"; ours where the survey leaves a choice):

* ``a`` and ``a*`` are the *effective* parameter counts of the original and compressed model:
  stored non-zeros × bits / 32, so a 4-bit weight counts 1/8 (mixed precision is comparable).
* ``α = a / a*``; ``β = (a − a*) / a*`` (so ``β = α − 1`` exactly); ``δ = s / s*`` with ``s`` the
  median latency after warm-up, timed in turns with the dense model, at batch 1 and a larger batch.
* *nominal* parameters count every entry of the weights the layers hold (masks change nothing;
  ``compact`` does); *non-zero* counts what a sparse format stores.
* *size in bits* is what storing the weights takes, overheads included: per-channel scales and
  zero points, codebooks, and sparse positions as relative indices of ``index_bits`` bits with
  filler entries (Deep Compression); a tensor is stored sparse only when that is smaller. With
  ``huffman=True`` shared weights are Huffman coded as in Deep Compression.
* Weights are the parameters of every module plus the int8 weights of :class:`~.int8.Int8Linear`
  and torch.ao's dynamic linear layers; buffers such as BatchNorm statistics are not counted.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from methodzoo.shared.compress.binary import BinaryWeight
from methodzoo.shared.compress.fakequant import WeightFakeQuantizer
from methodzoo.shared.compress.flops import count_flops
from methodzoo.shared.compress.int8 import Int8Linear
from methodzoo.shared.compress.masks import effective_mask
from methodzoo.shared.compress.parametrized import (
    original_of,
    parametrizations_of,
    parametrized_names,
)
from methodzoo.shared.compress.sharing import SharedWeight, encoded_bits, relative_positions
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.timing import interleaved_timing


@dataclass(frozen=True)
class TensorStorage:
    """How one weight tensor is stored: ``bits`` in all, of which ``overhead_bits`` are scales,
    codebooks and sparse positions."""

    name: str
    numel: int
    nonzero: int
    value_bits: float
    bits: int
    overhead_bits: int
    sparse: bool

    @property
    def effective_parameters(self) -> float:
        """Stored non-zeros × bits / 32 (the survey's count for mixed precision)."""
        return self.nonzero * self.value_bits / 32.0


def _sparse_or_dense(name: str, numel: int, mask: torch.Tensor | None, value_bits: float,
                     overhead: int, index_bits: int) -> TensorStorage:
    dense_bits = math.ceil(numel * value_bits) + overhead
    if mask is None:
        return TensorStorage(name, numel, numel, value_bits, dense_bits, overhead, False)
    nonzero = int(mask.sum())
    positions, fillers = relative_positions(mask.cpu().numpy(), index_bits)
    sparse_bits = math.ceil((nonzero + fillers) * value_bits) + positions.size * index_bits + overhead
    if sparse_bits < dense_bits:
        return TensorStorage(name, numel, nonzero, value_bits, sparse_bits,
                             overhead + positions.size * index_bits + math.ceil(fillers * value_bits), True)
    return TensorStorage(name, numel, nonzero, value_bits, dense_bits, overhead, False)


def _parametrized_storage(name: str, module: nn.Module, tensor: str, index_bits: int,
                          huffman: bool) -> TensorStorage:
    value = getattr(module, tensor).detach()
    chain = parametrizations_of(module, tensor)
    mask = effective_mask(module, tensor)
    if mask is None and bool((value == 0).any()):
        mask = value != 0
    value_bits: float = float(torch.finfo(value.dtype).bits) if value.is_floating_point() else 32.0
    overhead = 0
    for item in chain:
        if isinstance(item, WeightFakeQuantizer):
            value_bits = item.bits
            overhead += item.scales(value) * (32 if item.symmetric else 64)
        elif isinstance(item, BinaryWeight):
            value_bits = 1
            overhead += value.shape[0] * 32 if item.scaling == "xnor" else 0
        elif isinstance(item, SharedWeight):
            codebook = original_of(module, tensor)
            clusters = int(codebook.numel())
            value_bits = max(1, math.ceil(math.log2(max(clusters, 2))))
            if huffman:
                parts = encoded_bits(item, codebook, index_bits, huffman=True)
                nonzero = int(item.mask.sum()) if item.mask is not None else value.numel()
                return TensorStorage(name, value.numel(), nonzero, value_bits, sum(parts.values()),
                                     parts["positions"] + parts["codebook"], item.mask is not None)
            overhead += clusters * 32
            mask = item.mask
    return _sparse_or_dense(name, value.numel(), mask, value_bits, overhead, index_bits)


def weight_storage(model: nn.Module, *, index_bits: int = 5, huffman: bool = False) -> list[TensorStorage]:
    """How every weight tensor of ``model`` is stored (see the module docstring)."""
    found: list[TensorStorage] = []
    seen: set[int] = set()
    for module_name, module in model.named_modules():
        if "parametrizations" in module_name.split("."):
            continue  # originals, codebooks and scores: accounted for through the tensor they compute
        prefix = f"{module_name}." if module_name else ""
        for tensor in parametrized_names(module):
            found.append(_parametrized_storage(prefix + tensor, module, tensor, index_bits, huffman))
        for tensor, parameter in module.named_parameters(recurse=False):
            if id(parameter) in seen:
                continue
            seen.add(id(parameter))
            value = parameter.detach()
            mask = (value != 0) if bool((value == 0).any()) else None
            found.append(_sparse_or_dense(prefix + tensor, value.numel(), mask, torch.finfo(value.dtype).bits,
                                          0, index_bits))
        if isinstance(module, Int8Linear):
            found.append(_sparse_or_dense(prefix + "weight_int8", module.weight_int8.numel(),
                                          module.weight_int8 != 0 if bool((module.weight_int8 == 0).any()) else None,
                                          8, module.out_features * 32, index_bits))
        elif _is_torch_ao_dynamic_linear(module):
            weight = module.weight()
            scales = weight.q_per_channel_scales().numel() if weight.qscheme() in (
                torch.per_channel_affine, torch.per_channel_symmetric) else 1
            found.append(TensorStorage(prefix + "weight", weight.numel(), weight.numel(), 8.0,
                                       weight.numel() * 8 + scales * 64, scales * 64, False))
            bias = module.bias()
            if bias is not None:
                found.append(TensorStorage(prefix + "bias", bias.numel(), bias.numel(), 32.0,
                                           bias.numel() * 32, 0, False))
    return found


def _is_torch_ao_dynamic_linear(module: nn.Module) -> bool:
    return type(module).__name__ == "Linear" and type(module).__module__.startswith("torch.ao.nn.quantized.dynamic")


@dataclass(frozen=True)
class ParameterCount:
    """Nominal, non-zero and effective (non-zeros × bits/32) parameters, and size in bits."""

    nominal: int
    nonzero: int
    effective: float
    bits: int


def parameter_count(model: nn.Module, *, index_bits: int = 5, huffman: bool = False) -> ParameterCount:
    storage = weight_storage(model, index_bits=index_bits, huffman=huffman)
    return ParameterCount(nominal=sum(s.numel for s in storage), nonzero=sum(s.nonzero for s in storage),
                          effective=sum(s.effective_parameters for s in storage), bits=sum(s.bits for s in storage))


def size_in_bits(model: nn.Module, *, index_bits: int = 5, huffman: bool = False) -> int:
    """Bits to store ``model``'s weights (see the module docstring)."""
    return parameter_count(model, index_bits=index_bits, huffman=huffman).bits


def _weight_density(module: nn.Module) -> float:
    storage = weight_storage(module)
    own = [s for s in storage if s.name.endswith("weight") or s.name.endswith("weight_int8")]
    if not own:
        return 1.0
    return sum(s.nonzero for s in own) / max(1, sum(s.numel for s in own))


def effective_flops(model: nn.Module, *inputs: Any) -> tuple[int, int]:
    """``(FLOPs as run, FLOPs skipping zero weights)``: a layer's count scaled by its weight
    density (what a sparse kernel could save; dense kernels do not)."""
    count = count_flops(model, *inputs)
    modules = dict(model.named_modules())
    layers = {name: m for name, m in modules.items()
              if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, Int8Linear)) and name in count.by_module}
    saved = sum(count.by_module[name] * (1.0 - _weight_density(m)) for name, m in layers.items())
    return count.flops, round(count.flops - saved)


@dataclass(frozen=True)
class CompressionReport:
    """The survey's metrics for ``compressed`` against ``dense`` (see the module docstring)."""

    params_dense: float
    params_nominal: int
    params_nonzero: int
    params_effective: float
    bits_dense: int
    bits_compressed: int
    alpha: float
    beta: float
    alpha_size: float
    flops_dense: int
    flops_compressed: int
    flops_effective: int
    latency_ms: dict[int, tuple[float, float]] = field(default_factory=dict)
    delta: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Flat and JSON-able: ``delta_b1``, ``latency_ms_dense_b64``, …"""
        out = {k: v for k, v in asdict(self).items() if k not in ("latency_ms", "delta")}
        for batch, (dense, compressed) in self.latency_ms.items():
            out[f"latency_ms_dense_b{batch}"] = dense
            out[f"latency_ms_compressed_b{batch}"] = compressed
        for batch, ratio in self.delta.items():
            out[f"delta_b{batch}"] = ratio
        return out


def _slice_batch(inputs: Sequence[Any], size: int) -> tuple[Any, ...]:
    return tuple(x[:size] if isinstance(x, torch.Tensor) else x for x in inputs)


@torch.no_grad()
def measure_speedup(dense: nn.Module, compressed: nn.Module, *inputs: Any, batch_sizes: Sequence[int | None] = (1, None),
                    rounds: int = 30, warmup: int = 5) -> tuple[dict[int, tuple[float, float]], dict[int, float]]:
    """Median latencies (ms) and ``δ`` per batch size, both models timed in turns, in eval mode.
    ``None`` means the batch of ``inputs`` as given."""
    latency: dict[int, tuple[float, float]] = {}
    delta: dict[int, float] = {}
    full = int(inputs[0].shape[0])
    with eval_mode(dense, compressed):
        for size in batch_sizes:
            batch = full if size is None else size
            sliced = _slice_batch(inputs, batch)
            timing = interleaved_timing({"dense": partial(dense, *sliced), "compressed": partial(compressed, *sliced)},
                                        rounds=rounds, warmup=warmup)
            latency[batch] = (timing.median_ms("dense"), timing.median_ms("compressed"))
            delta[batch] = timing.ratio("dense", "compressed")
    return latency, delta


def report(dense: nn.Module, compressed: nn.Module, *inputs: Any, time: bool = True,
           batch_sizes: Sequence[int | None] = (1, None), rounds: int = 30, warmup: int = 5,
           index_bits: int = 5, huffman: bool = False) -> CompressionReport:
    """α, β, δ, sizes and FLOPs of ``compressed`` against ``dense`` on ``inputs`` (a batch).

    ``time=False`` skips the latency measurement (``delta`` stays empty).
    """
    before = parameter_count(dense, index_bits=index_bits)
    after = parameter_count(compressed, index_bits=index_bits, huffman=huffman)
    with eval_mode(dense, compressed):
        flops_dense = count_flops(dense, *inputs).flops
        flops_compressed, flops_sparse = effective_flops(compressed, *inputs)
    alpha = before.effective / after.effective
    latency, delta = measure_speedup(dense, compressed, *inputs, batch_sizes=batch_sizes, rounds=rounds,
                                     warmup=warmup) if time else ({}, {})
    return CompressionReport(
        params_dense=before.effective, params_nominal=after.nominal, params_nonzero=after.nonzero,
        params_effective=after.effective, bits_dense=before.bits, bits_compressed=after.bits,
        alpha=alpha, beta=(before.effective - after.effective) / after.effective, alpha_size=before.bits / after.bits,
        flops_dense=flops_dense, flops_compressed=flops_compressed, flops_effective=flops_sparse,
        latency_ms=latency, delta=delta)
