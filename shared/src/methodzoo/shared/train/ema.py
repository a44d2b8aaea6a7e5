"""Exponential moving average of a model's weights (for sampling and evaluation)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from methodzoo.shared.errors import ConfigError, UserError


class EMA:
    """Keeps ``shadow ← decay·shadow + (1 − decay)·param`` after every :meth:`update`.

    After ``k`` updates with constant weights ``w`` starting from ``w0`` the shadow is
    ``w + decay**k · (w0 − w)``. Buffers (BatchNorm statistics, pruning masks) are copied, not
    averaged; so are parameters that are not floating point.

    Tensors are matched by name, and the shadow follows the model when its parameters or buffers
    change (pruning renames ``weight`` to ``weight_orig`` and adds ``weight_mask``;
    ``torch.nn.utils.parametrize`` moves it to ``parametrizations.weight.original``). The rule
    when the names, shapes or dtypes differ at an update: the shadow becomes a copy of the model
    as it is now, and each parameter whose *plain name* (the name with pruning's ``_orig``
    suffix and parametrize's ``parametrizations.<name>.original`` removed) and shape existed
    before keeps its running average; every other tensor starts from the model's current value.
    The averaged weight of a pruned or masked layer is therefore the average of the unmasked
    weight, seen through the current mask.
    """

    def __init__(self, model: nn.Module, decay: float = 0.9999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.model = _frozen_copy(_unwrap(model))
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        source = _named_tensors(_unwrap(model))
        shadow = _named_tensors(self.model)
        if _layout(source) != _layout(shadow):
            self._follow(_unwrap(model))
            shadow = _named_tensors(self.model)
        # Same names in the same order now: pair them up by position.
        averaged: list[torch.Tensor] = []
        current: list[torch.Tensor] = []
        for (_, target), (_, value) in zip(shadow, source, strict=True):
            if isinstance(target, nn.Parameter) and target.is_floating_point():
                averaged.append(target)
                current.append(value.detach())
            else:
                target.copy_(value)
        if averaged:
            torch._foreach_lerp_(averaged, current, 1.0 - self.decay)
        self.updates += 1

    def _follow(self, source: nn.Module) -> None:
        """Re-sync with a model whose tensors changed, keeping the averages that still apply."""
        previous = {_plain_name(name): shadow for name, shadow in self.model.named_parameters()}
        self.model = _frozen_copy(source)
        for name, shadow in self.model.named_parameters():
            kept = previous.get(_plain_name(name))
            if kept is not None and kept.shape == shadow.shape and kept.dtype == shadow.dtype:
                shadow.copy_(kept)

    def state_dict(self) -> dict[str, object]:
        return {"model": self.model.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict[str, object]) -> None:
        try:
            self.model.load_state_dict(state["model"])  # type: ignore[arg-type]
        except RuntimeError as error:
            raise UserError(f"the saved EMA weights do not fit this model (prune or parametrize the "
                            f"model as in the saved run before loading): {error}") from None
        self.updates = int(state["updates"])  # type: ignore[call-overload]

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        target = _unwrap(model)
        if _layout(_named_tensors(target)) != _layout(_named_tensors(self.model)):
            raise UserError("the model's parameters changed since the last EMA update; call "
                            "update(model) first so the EMA follows them")
        target.load_state_dict(self.model.state_dict())

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


def _named_tensors(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """Parameters, then buffers (names of buffers prefixed so they never match a parameter's)."""
    return [*module.named_parameters(), *((f"buffer:{n}", b) for n, b in module.named_buffers())]


def _layout(tensors: list[tuple[str, torch.Tensor]]) -> tuple[tuple[str, torch.Size, torch.dtype], ...]:
    return tuple((name, t.shape, t.dtype) for name, t in tensors)


def _frozen_copy(module: nn.Module) -> nn.Module:
    """A deep copy in eval mode without gradients.

    A pruned layer holds its masked weight as a plain attribute computed with autograd, which
    ``deepcopy`` refuses; the copy gets a detached one (the pruning hook recomputes it anyway).
    """
    memo: dict[int, object] = {}
    for submodule in module.modules():
        for value in vars(submodule).values():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                memo[id(value)] = value.detach().clone()
    copied = copy.deepcopy(module, memo).eval()
    for parameter in copied.parameters():
        parameter.requires_grad_(False)
    return copied


def _plain_name(name: str) -> str:
    """``a.weight_orig`` (pruning) and ``a.parametrizations.weight.original`` (parametrize) → ``a.weight``."""
    parts = name.split(".")
    if len(parts) >= 3 and parts[-3] == "parametrizations" and parts[-1] == "original":
        parts = [*parts[:-3], parts[-2]]
    elif parts[-1].endswith("_orig"):
        parts[-1] = parts[-1].removesuffix("_orig")
    return ".".join(parts)
