"""Layers of an arbitrary ``nn.Module`` and BatchNorm handling for the virtual step.

FaMUS gates the meta-gradient layer by layer. A *layer* here is one of:

- ``weight_layer`` (default, the paper's reading): a weight layer (a module owning a parameter
  of two or more dimensions: ``Conv2d``, ``Linear``) together with the normalisation layers
  that follow it before the next weight layer (its ``BatchNorm2d`` affine pair), so a
  conv-BN-ReLU block is one layer and a 10-conv + 1-linear CNN has 11 layers;
- ``module``: every module that owns parameters, a ``BatchNorm2d`` counting as its own layer
  (the other reading: 21 layers for the same CNN);
- ``parameter``: a single parameter tensor (the official code's notion).
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


Granularity = Literal["weight_layer", "module", "parameter"]


def layer_units(model: nn.Module, granularity: Granularity = "weight_layer") -> list[LayerUnit]:
    """The trainable layers of ``model`` in forward-definition order (``named_parameters`` order).

    With ``weight_layer``, modules whose parameters are all 1-D (BatchNorm, LayerNorm, a bare
    bias) join the weight layer registered before them; any before the first weight layer form
    their own layer.
    """
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    if not trainable:
        raise ConfigError("the model has no trainable parameters")
    if granularity == "parameter":
        return [LayerUnit(name, (name,)) for name in trainable]
    if granularity not in ("module", "weight_layer"):
        raise ConfigError(f"granularity must be 'weight_layer', 'module' or 'parameter', got {granularity!r}")
    owner: dict[str, str] = {}
    for module_name, module in model.named_modules():
        for param_name, p in module.named_parameters(recurse=False):
            if p.requires_grad:
                full = f"{module_name}.{param_name}" if module_name else param_name
                owner.setdefault(full, module_name)
    units: dict[str, list[str]] = {}
    for name in trainable:  # keeps named_parameters order, skips tied duplicates
        units.setdefault(owner.get(name, name), []).append(name)
    modules = [LayerUnit(module or "<root>", tuple(params)) for module, params in units.items()]
    if granularity == "module":
        return modules
    shapes = dict(model.named_parameters())
    merged: list[LayerUnit] = []
    for unit in modules:
        is_weight_layer = any(shapes[n].ndim >= 2 for n in unit.parameters)
        if merged and not is_weight_layer:
            merged[-1] = LayerUnit(merged[-1].name, merged[-1].parameters + unit.parameters)
        else:
            merged.append(unit)
    return merged


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
