"""Safe wrappers around ``torch.nn.utils.parametrize`` for modules that may have been deep-copied.

``parametrize`` gives a parametrized module a generated class holding one property per
parametrized tensor, and ``copy.deepcopy`` gives the copy that *same* class. Registering or
removing a parametrization edits the class, so pruning a copy (an EMA model, the teacher kept
before compression, ``compact``'s working copy) would silently change the original too. Every
registration and removal here first gives the module a class of its own.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn
from torch.nn.utils import parametrize

_CLASS_ATTRIBUTES_NOT_COPIED = ("__dict__", "__weakref__")


def own_class_(module: nn.Module) -> None:
    """Give a parametrized ``module`` a private copy of its generated class."""
    if not parametrize.is_parametrized(module):
        return
    shared = type(module)
    namespace = {k: v for k, v in shared.__dict__.items() if k not in _CLASS_ATTRIBUTES_NOT_COPIED}
    module.__class__ = type(shared.__name__, shared.__bases__, namespace)


def register_(module: nn.Module, name: str, parametrization: nn.Module, *, unsafe: bool = False) -> None:
    """``parametrize.register_parametrization`` that cannot affect deep copies of ``module``."""
    own_class_(module)
    parametrize.register_parametrization(module, name, parametrization, unsafe=unsafe)


def remove_(module: nn.Module, name: str, *, leave_parametrized: bool = True) -> None:
    """``parametrize.remove_parametrizations`` that cannot affect deep copies of ``module``."""
    if parametrize.is_parametrized(module, name):
        own_class_(module)
        parametrize.remove_parametrizations(module, name, leave_parametrized=leave_parametrized)


def parametrization_list(module: nn.Module, name: str) -> Any:
    """``module.parametrizations[name]`` (a ``ParametrizationList``: the parametrizations, innermost
    first, and ``original``, the stored tensor)."""
    return cast(Any, module).parametrizations[name]


def parametrized_names(module: nn.Module) -> list[str]:
    """The names of ``module``'s parametrized tensors."""
    return list(cast(Any, module).parametrizations) if parametrize.is_parametrized(module) else []


def parametrizations_of(module: nn.Module, name: str) -> list[nn.Module]:
    """The parametrizations applied to ``module.<name>``, innermost first (empty when none)."""
    if not parametrize.is_parametrized(module, name):
        return []
    return list(parametrization_list(module, name))


def original_of(module: nn.Module, name: str) -> torch.Tensor:
    """The stored tensor behind ``module.<name>`` (the tensor itself when not parametrized)."""
    if parametrize.is_parametrized(module, name):
        return cast(torch.Tensor, parametrization_list(module, name).original)
    value = getattr(module, name)
    assert isinstance(value, torch.Tensor)
    return value


def parametrized_tensors(model: nn.Module) -> list[tuple[str, nn.Module, str]]:
    """``(module name, module, tensor name)`` for every parametrized tensor of ``model``."""
    return [(module_name, module, name) for module_name, module in model.named_modules()
            for name in parametrized_names(module)]
