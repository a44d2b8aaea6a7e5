"""Exponential moving average of a model's weights (for sampling and evaluation)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from methodzoo.shared.errors import ConfigError


class EMA:
    """Keeps ``shadow ← decay·shadow + (1 − decay)·param`` after every :meth:`update`.

    After ``k`` updates with constant weights ``w`` starting from ``w0`` the shadow is
    ``w + decay**k · (w0 − w)``. Buffers (BatchNorm statistics) are copied, not averaged.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = copy.deepcopy(_unwrap(model)).eval()
        for parameter in self.model.parameters():
            parameter.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        source = _unwrap(model)
        for shadow, param in zip(self.model.parameters(), source.parameters(), strict=True):
            shadow.lerp_(param.detach(), 1.0 - self.decay)
        for shadow_buffer, buffer in zip(self.model.buffers(), source.buffers(), strict=True):
            shadow_buffer.copy_(buffer)
        self.updates += 1

    def state_dict(self) -> dict[str, object]:
        return {"model": self.model.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict[str, object]) -> None:
        self.model.load_state_dict(state["model"])  # type: ignore[arg-type]
        self.updates = int(state["updates"])  # type: ignore[call-overload]

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        _unwrap(model).load_state_dict(self.model.state_dict())

    @contextmanager
    def swapped_into(self, model: nn.Module) -> Iterator[nn.Module]:
        """Temporarily put the averaged weights into ``model`` (restored afterwards)."""
        target = _unwrap(model)
        saved = copy.deepcopy(target.state_dict())
        self.copy_to(target)
        try:
            yield target
        finally:
            target.load_state_dict(saved)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model
