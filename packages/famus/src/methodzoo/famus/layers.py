"""Layers of an arbitrary ``nn.Module`` and BatchNorm handling for the virtual step.

FaMUS gates the meta-gradient layer by layer. A *layer* here is either a module that owns
parameters directly (a ``Conv2d`` with its weight and bias, a ``BatchNorm2d`` with its affine
pair; the paper's notion) or a single parameter tensor (the official code's notion).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from methodzoo.famus.config import BNPolicy
from methodzoo.shared.errors import ConfigError


@dataclass(frozen=True)
class LayerUnit:
    """One gated layer l: a name and the full names of its parameter tensors w_l."""

    name: str
    parameters: tuple[str, ...]


def layer_units(model: nn.Module, granularity: Literal["module", "parameter"] = "module") -> list[LayerUnit]:
    """The trainable layers of ``model`` in forward-definition order (``named_parameters`` order)."""
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ConfigError("the model has no trainable parameters")
    if granularity == "parameter":
        return [LayerUnit(name, (name,)) for name in trainable]
    if granularity != "module":
        raise ConfigError(f"granularity must be 'module' or 'parameter', got {granularity!r}")
    owner: dict[str, str] = {}
    for module_name, module in model.named_modules():
        for param_name, p in module.named_parameters(recurse=False):
            if p.requires_grad:
                full = f"{module_name}.{param_name}" if module_name else param_name
                owner.setdefault(full, module_name)
    units: dict[str, list[str]] = {}
    for name in trainable:  # keeps named_parameters order, skips tied duplicates
        units.setdefault(owner.get(name, name), []).append(name)
    return [LayerUnit(module or "<root>", tuple(params)) for module, params in units.items()]


def pooled_gradient(grad: torch.Tensor, reduce: Literal["mean", "sum"] = "mean") -> torch.Tensor:
    """ḡ: a gradient averaged (or summed) over every dimension but the output one (dim 0).

    A 1-D gradient (a bias) is returned as it is; a 0-D one becomes a vector of length 1.
    """
    if grad.ndim == 0:
        return grad.reshape(1)
    if grad.ndim == 1:
        return grad
    flat = grad.reshape(grad.shape[0], -1)  # (D_out, rest)
    return flat.mean(dim=1) if reduce == "mean" else flat.sum(dim=1)


def _batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@contextlib.contextmanager
def batchnorm_mode(model: nn.Module, policy: BNPolicy) -> Iterator[None]:
    """Inside the virtual/meta forwards: put BatchNorm layers in eval mode when ``policy='running'``."""
    if policy != "running":
        yield
        return
    norms = _batch_norms(model)
    previous = [m.training for m in norms]
    try:
        for m in norms:
            m.train(False)
        yield
    finally:
        for m, mode in zip(norms, previous, strict=True):
            m.train(mode)


def forward_buffers(model: nn.Module, policy: BNPolicy) -> dict[str, torch.Tensor]:
    """Buffers handed to ``functional_call`` in the virtual and meta forwards.

    ``discard`` gives copies, so running-statistic updates in those forwards are thrown away
    (what MW-Net's freshly copied meta-model does); ``update`` and ``running`` give the module's
    own buffers (``running`` never writes them because BatchNorm is in eval mode).
    """
    buffers = dict(model.named_buffers())
    if policy == "discard":
        return {name: b.clone() for name, b in buffers.items()}
    return buffers
