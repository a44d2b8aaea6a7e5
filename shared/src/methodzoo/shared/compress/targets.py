"""Which tensors a compression method acts on, and the layer selection every config shares.

A *target* is one weight tensor of a linear, convolution or attention layer, named by the
module that owns it (``features.0``) and the tensor's attribute (``weight``,
``in_proj_weight``). Biases and normalisation parameters are never targets: they are a tiny
share of the parameters and pruning or quantizing them costs accuracy for nothing.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

import torch
from torch import nn

from methodzoo.shared.config import Config, check

CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
KINDS = ("linear", "conv", "attention")


@dataclass(frozen=True)
class LayerSelection(Config):
    """The layers a configuration applies to, by module name (shell patterns, ``fnmatch``).

    ``include=("*",)`` selects every eligible layer; ``skip=("classifier",)`` leaves the layer
    named ``classifier`` alone. Both are keyword-only so a config's first positional field stays
    its main knob (``MagnitudePruning(0.7)``).
    """

    include: tuple[str, ...] = field(default=("*",), kw_only=True)
    skip: tuple[str, ...] = field(default=(), kw_only=True)
    kinds: tuple[str, ...] = field(default=KINDS, kw_only=True)

    def validate(self) -> None:
        check(len(self.include) > 0, "include must name at least one pattern (use '*' for all layers)")
        check(all(p for p in self.include + self.skip), "layer patterns must be non-empty strings")
        unknown = sorted(set(self.kinds) - set(KINDS))
        check(not unknown, "unknown layer kind(s) {}; valid: {}", unknown, list(KINDS))

    def selects(self, name: str) -> bool:
        """Whether the module called ``name`` is selected."""
        included = any(fnmatch.fnmatchcase(name, pattern) for pattern in self.include)
        return included and not any(fnmatch.fnmatchcase(name, pattern) for pattern in self.skip)


@dataclass(frozen=True)
class Target:
    """One weight tensor: ``getattr(module, tensor)`` of the module called ``name``."""

    name: str
    module: nn.Module
    tensor: str

    @property
    def qualified_name(self) -> str:
        return f"{self.name}.{self.tensor}" if self.name else self.tensor

    def value(self) -> torch.Tensor:
        """The tensor the layer computes with (after any parametrization)."""
        return getattr(self.module, self.tensor)


def kind_of(module: nn.Module) -> str | None:
    """``"linear"``, ``"conv"``, ``"attention"`` (``nn.MultiheadAttention``) or ``None``."""
    if isinstance(module, nn.Linear):
        return "linear"
    if isinstance(module, CONV_TYPES):
        return "conv"
    if isinstance(module, nn.MultiheadAttention):
        return "attention"
    return None


def attention_weight_names(module: nn.MultiheadAttention) -> tuple[str, ...]:
    """The input-projection weights of ``nn.MultiheadAttention`` (its output projection is an
    ``nn.Linear`` child and is a target of its own)."""
    if module._qkv_same_embed_dim:
        return ("in_proj_weight",)
    return ("q_proj_weight", "k_proj_weight", "v_proj_weight")


def find_targets(model: nn.Module, selection: LayerSelection | None = None,
                 kinds: tuple[str, ...] | None = None) -> list[Target]:
    """Every weight tensor of the selected linear, convolution and attention layers, in module
    order (``kinds`` narrows the selection's own kinds)."""
    allowed = set(selection.kinds if selection is not None else KINDS)
    if kinds is not None:
        allowed &= set(kinds)
    found: list[Target] = []
    for name, module in model.named_modules():
        kind = kind_of(module)
        if kind is None or kind not in allowed or (selection is not None and not selection.selects(name)):
            continue
        assert isinstance(module, nn.Module)
        names = attention_weight_names(module) if isinstance(module, nn.MultiheadAttention) else ("weight",)
        found.extend(Target(name, module, tensor) for tensor in names)
    return found


def parent_of(model: nn.Module, name: str) -> tuple[nn.Module, str]:
    """The module holding the child called ``name`` and the child's attribute name."""
    parent_name, _, child = name.rpartition(".")
    return (model.get_submodule(parent_name) if parent_name else model), child


def replace_module(model: nn.Module, name: str, new: nn.Module) -> None:
    """Put ``new`` where the submodule ``name`` was."""
    parent, child = parent_of(model, name)
    setattr(parent, child, new)
