"""Nested state (model, optimizer, scheduler, RNG) ⇄ safetensors tensors + a JSON skeleton.

Optimizer and scheduler state dicts mix tensors with numbers, lists and strings. We keep every
tensor in the safetensors file under its path (``optimizer/state/0/exp_avg``) and everything
else in JSON, with ``{"__tensor__": path}`` where a tensor was, so nothing is ever pickled.
"""

from __future__ import annotations

from typing import Any

import torch

_TENSOR = "__tensor__"
_INT_KEYS = "__int_keys__"


def flatten_state(state: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Move tensors of ``state`` into ``tensors`` and return the JSON-compatible rest."""
    if isinstance(state, torch.Tensor):
        # safetensors refuses views and shared storage: store an independent contiguous copy.
        tensors[prefix] = state.detach().to("cpu").contiguous().clone()
        return {_TENSOR: prefix}
    if isinstance(state, dict):
        int_keys = [k for k in state if isinstance(k, int)]
        out: dict[str, Any] = {
            str(k): flatten_state(v, f"{prefix}/{k}", tensors) for k, v in state.items()
        }
        if int_keys:
            out[_INT_KEYS] = [str(k) for k in int_keys]
        return out
    if isinstance(state, (list, tuple)):
        items = [flatten_state(v, f"{prefix}/{i}", tensors) for i, v in enumerate(state)]
        return items if isinstance(state, list) else {"__tuple__": items}
    if isinstance(state, (bool, int, float, str)) or state is None:
        return state
    raise TypeError(f"cannot store a {type(state).__name__} at {prefix!r} in a checkpoint")


def unflatten_state(skeleton: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(skeleton, dict):
        if _TENSOR in skeleton:
            return tensors[skeleton[_TENSOR]]
        if "__tuple__" in skeleton:
            return tuple(unflatten_state(v, tensors) for v in skeleton["__tuple__"])
        int_keys = set(skeleton.get(_INT_KEYS, []))
        return {
            (int(k) if k in int_keys else k): unflatten_state(v, tensors)
            for k, v in skeleton.items()
            if k != _INT_KEYS
        }
    if isinstance(skeleton, list):
        return [unflatten_state(v, tensors) for v in skeleton]
    return skeleton
