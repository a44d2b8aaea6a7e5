"""Nested state (model, optimizer, scheduler, RNG) ⇄ safetensors tensors + a JSON skeleton.

Optimizer and scheduler state dicts mix tensors with numbers, lists and strings. We keep every
tensor in the safetensors file under its path (``optimizer/state/0/exp_avg``) and everything
else in JSON, with ``{"__tensor__": path}`` where a tensor was, so nothing is ever pickled.
A module state dict keeps its ``_metadata`` (the per-module format versions that
``load_state_dict`` consults).

Quantized models (``torch.ao.quantization.quantize_dynamic``) add three kinds of leaves, each
stored as plain tensors and JSON and rebuilt exactly:

- quantized tensors: the integer representation (``int_repr``) in safetensors, and the scale,
  zero point, axis and scheme (per-tensor or per-channel affine) in the skeleton (per-channel
  scales and zero points as tensors);
- ``torch.dtype`` values (``_packed_params.dtype``), by name;
- the packed parameters of dynamic quantized RNNs (TorchScript objects of the classes
  ``quantized.LinearPackedParamsBase`` and ``rnn.CellParamsBase``), unpacked into their weights,
  biases and flags and packed again on load with the same ``torch.ops.quantized`` operators
  ``torch.ao`` uses. Other TorchScript objects are refused rather than pickled.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch

_TENSOR = "__tensor__"
_INT_KEYS = "__int_keys__"
_TUPLE = "__tuple__"
_DTYPE = "__dtype__"
_QTENSOR = "__quantized__"
_PACKED_LINEAR = "__packed_linear__"
_CELL_PARAMS = "__cell_params__"
_METADATA = "__module_metadata__"

# Quantized dtype → the integer dtype of its representation (what int_repr returns).
_QUANTIZED_STORAGE = {torch.qint8: torch.int8, torch.quint8: torch.uint8, torch.qint32: torch.int32}


def flatten_state(state: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Move tensors of ``state`` into ``tensors`` and return the JSON-compatible rest."""
    if isinstance(state, torch.Tensor):
        if state.is_quantized:
            return _flatten_quantized(state, prefix, tensors)
        tensors[prefix] = _independent_copy(state)
        return {_TENSOR: prefix}
    if isinstance(state, dict):
        int_keys = [k for k in state if isinstance(k, int)]
        out: dict[str, Any] = {
            str(k): flatten_state(v, f"{prefix}/{k}", tensors) for k, v in state.items()
        }
        if int_keys:
            out[_INT_KEYS] = [str(k) for k in int_keys]
        metadata = getattr(state, "_metadata", None)
        if metadata is not None:
            out[_METADATA] = flatten_state(dict(metadata), f"{prefix}#metadata", tensors)
        return out
    if isinstance(state, (list, tuple)):
        items = [flatten_state(v, f"{prefix}/{i}", tensors) for i, v in enumerate(state)]
        return items if isinstance(state, list) else {_TUPLE: items}
    if isinstance(state, (bool, int, float, str)) or state is None:
        return state
    if isinstance(state, torch.dtype):
        return {_DTYPE: str(state).removeprefix("torch.")}
    if isinstance(state, torch.ScriptObject):
        return _flatten_script_object(state, prefix, tensors)
    raise TypeError(f"cannot store a {type(state).__name__} at {prefix!r} in a checkpoint")


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        if _TUPLE in skeleton:
            return tuple(unflatten_state(v, tensors) for v in skeleton[_TUPLE])
        if _DTYPE in skeleton:
            return _dtype_named(skeleton[_DTYPE])
        if _QTENSOR in skeleton:
            return _unflatten_quantized(skeleton, tensors)
        if _PACKED_LINEAR in skeleton:
            return _pack_linear(unflatten_state(skeleton[_PACKED_LINEAR], tensors))
        if _CELL_PARAMS in skeleton:
            return _pack_cell(skeleton[_CELL_PARAMS], unflatten_state(skeleton["parts"], tensors))
        int_keys = set(skeleton.get(_INT_KEYS, []))
        state: dict[Any, Any] = {
            (int(k) if k in int_keys else k): unflatten_state(v, tensors)
            for k, v in skeleton.items()
            if k not in (_INT_KEYS, _METADATA)
        }
        if _METADATA in skeleton:
            return _with_module_metadata(state, unflatten_state(skeleton[_METADATA], tensors))
        return state
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton


def _with_module_metadata(state: dict[Any, Any], metadata: dict[str, Any]) -> dict[Any, Any]:
    # Modules read their format version from state_dict._metadata when loading (quantized
    # Linear refuses its current layout without it), so a module state dict keeps it.
    restored: OrderedDict[Any, Any] = OrderedDict(state)
    restored._metadata = OrderedDict(metadata)  # type: ignore[attr-defined]
    return restored


def _independent_copy(tensor: torch.Tensor) -> torch.Tensor:
    # safetensors refuses views and shared storage: store an independent contiguous copy.
    return tensor.detach().to("cpu").contiguous().clone()


def _dtype_named(name: str) -> torch.dtype:
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"checkpoint names an unknown dtype {name!r}")
    return dtype


# ----- quantized tensors ------------------------------------------------------------------------
def _flatten_quantized(tensor: torch.Tensor, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    if tensor.dtype not in _QUANTIZED_STORAGE:
        raise TypeError(f"cannot store a {tensor.dtype} tensor at {prefix!r} in a checkpoint "
                        f"(supported: {', '.join(str(d) for d in _QUANTIZED_STORAGE)})")
    tensor = tensor.detach()
    tensors[prefix] = _independent_copy(tensor.int_repr())
    record: dict[str, Any] = {_QTENSOR: prefix, "dtype": str(tensor.dtype).removeprefix("torch.")}
    scheme = tensor.qscheme()
    if scheme in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        record.update(scheme="per_tensor", scale=tensor.q_scale(), zero_point=tensor.q_zero_point())
    elif scheme in (torch.per_channel_affine, torch.per_channel_symmetric):
        tensors[f"{prefix}#scales"] = _independent_copy(tensor.q_per_channel_scales())
        tensors[f"{prefix}#zero_points"] = _independent_copy(tensor.q_per_channel_zero_points())
        record.update(scheme="per_channel", axis=tensor.q_per_channel_axis())
    else:
        raise TypeError(f"cannot store a tensor quantized with {scheme} at {prefix!r} in a checkpoint")
    return record


def _unflatten_quantized(record: dict[str, Any], tensors: dict[str, torch.Tensor]) -> torch.Tensor:
    prefix = record[_QTENSOR]
    values = tensors[prefix]
    expected = _QUANTIZED_STORAGE[_dtype_named(record["dtype"])]
    if values.dtype != expected:
        raise ValueError(f"quantized tensor {prefix!r} is stored as {values.dtype}, expected {expected}")
    if record["scheme"] == "per_tensor":
        return torch._make_per_tensor_quantized_tensor(values, record["scale"], record["zero_point"])
    return torch._make_per_channel_quantized_tensor(
        values, tensors[f"{prefix}#scales"], tensors[f"{prefix}#zero_points"], record["axis"])


# ----- packed parameters of dynamic quantized RNNs ---------------------------------------------------
def _script_class(obj: torch.ScriptObject) -> str:
    return obj._type().qualified_name().removeprefix("__torch__.torch.classes.")


def _flatten_script_object(obj: torch.ScriptObject, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    kind = _script_class(obj)
    if kind == "quantized.LinearPackedParamsBase":
        weight, bias = torch.ops.quantized.linear_unpack(obj)
        return {_PACKED_LINEAR: flatten_state((weight, bias), prefix, tensors)}
    if kind == "rnn.CellParamsBase":
        # __getstate__ gives (cell type, tensors, doubles, longs, packed linears), the same fields
        # the make_quantized_cell_params_* operators take back.
        fields: Any = obj.__getstate__()
        cell_type, cell_tensors, doubles, longs, packed = fields[0]
        parts = {"tensors": list(cell_tensors), "doubles": list(doubles), "longs": list(longs),
                 "packed": list(packed)}
        return {_CELL_PARAMS: cell_type, "parts": flatten_state(parts, prefix, tensors)}
    raise TypeError(f"cannot store a TorchScript object of class {kind} at {prefix!r} in a checkpoint "
                    "(supported: the packed parameters of dynamic quantized Linear and RNN layers)")


def _pack_linear(weight_and_bias: tuple[torch.Tensor, torch.Tensor | None]) -> Any:
    weight, bias = weight_and_bias
    if weight.is_quantized:
        return torch.ops.quantized.linear_prepack(weight, bias)
    return torch.ops.quantized.linear_prepack_fp16(weight, bias)  # float16 dynamic quantization


def _pack_cell(cell_type: str, parts: dict[str, Any]) -> Any:
    packed_ih, packed_hh = parts["packed"]
    if cell_type == "quantized_dynamic":
        bias_ih, bias_hh = parts["tensors"]
        (reduce_range,) = parts["longs"]
        return torch.ops.quantized.make_quantized_cell_params_dynamic(
            packed_ih, packed_hh, bias_ih, bias_hh, bool(reduce_range))
    if cell_type == "quantized_fp16":
        return torch.ops.quantized.make_quantized_cell_params_fp16(packed_ih, packed_hh)
    raise ValueError(f"checkpoint holds RNN cell parameters of unknown type {cell_type!r}")
