"""Values derived from a module's weights, recomputed only when a weight changes.

Hashing every weight (the bitstream fingerprint) or the entropy model's parameters (are the coding
tables current?) costs milliseconds per call, more than decoding a small image. The cache key is
the identity and in-place version counter of every parameter and buffer: optimizer steps,
``load_state_dict`` and ``update`` all change it. Edits through ``tensor.data`` bypass version
counters and are not seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import torch
from torch import nn

Value = TypeVar("Value")


class StateStamp:
    """Identity and version counter of every parameter and buffer of a module.

    Two stamps are equal only if no tensor was replaced or modified in place in between. The
    stamp holds the tensors, so their ids cannot be reused by new tensors while it lives.
    """

    def __init__(self, module: nn.Module) -> None:
        self.tensors = [slots[name] for slots, name in _tensor_slots(module)]
        self.versions = [-1 if t is None else t._version for t in self.tensors]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StateStamp) or len(other.tensors) != len(self.tensors):
            return False
        return all(a is b for a, b in zip(self.tensors, other.tensors, strict=True)) and self.versions == other.versions

    __hash__ = None  # type: ignore[assignment]


def cached_on_state(module: nn.Module, key: str, compute: Callable[[], Value]) -> Value:
    """``compute()``, cached on ``module`` under ``key`` until one of its tensors changes."""
    stamp = StateStamp(module)
    cached = module.__dict__.get(f"_state_cache_{key}")
    if cached is not None and cached[0] == stamp:
        return cached[1]  # type: ignore[no-any-return]
    value = compute()
    module.__dict__[f"_state_cache_{key}"] = (stamp, value)
    return value


def _tensor_slots(module: nn.Module) -> list[tuple[dict[str, torch.Tensor | None], str]]:
    """Where every parameter and buffer of ``module`` lives (found once: walking the module tree
    on every call would cost more than the digest saves)."""
    slots = module.__dict__.get("_stamp_slots")
    if slots is None:
        slots = [(m._parameters, name) for m in module.modules() for name in m._parameters]
        slots += [(m._buffers, name) for m in module.modules() for name in m._buffers]
        module.__dict__["_stamp_slots"] = slots
    return slots  # type: ignore[no-any-return]
