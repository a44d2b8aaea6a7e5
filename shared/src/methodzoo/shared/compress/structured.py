"""Structured pruning: whole filters, neurons or attention heads, ranked by the L1 norm of their
weights (Li et al. 2017, "Pruning Filters for Efficient ConvNets"), masked group by group so that
:func:`~methodzoo.shared.compress.compact` can then remove them for a real speed-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from methodzoo.shared.compress.groups import ChannelGroup, Slice, Unit, find_groups
from methodzoo.shared.compress.masks import add_channel_mask_
from methodzoo.shared.compress.prune import Calibration, register_pruner
from methodzoo.shared.compress.targets import LayerSelection
from methodzoo.shared.config import check
from methodzoo.shared.errors import UserError


@dataclass(frozen=True)
class StructuredPruning(LayerSelection):
    """Mask ``amount`` of the filters (``unit="filter"``, convolutions), neurons (``"neuron"``,
    linear layers) or heads (``"head"``, attention) of every prunable group, those with the
    smallest ``importance`` (``"l1"``: ‖W_f‖₁ of the filter, Li et al.; ``"l2"``: ‖W_f‖₂).

    Each selected producer loses ``round(amount * channels)`` channels, never all of them.
    ``include``/``skip`` match the producer's module name. A group's masks cover the producer's
    slice, its BatchNorm channel and its consumer's input slice (see :mod:`.groups`).
    """

    amount: float = 0.5
    unit: Unit = "filter"
    importance: Literal["l1", "l2"] = "l1"

    def validate(self) -> None:
        super().validate()
        check(0.0 <= self.amount < 1.0, "amount must be in [0, 1), got {}", self.amount)


def group_importance(model: nn.Module, group: ChannelGroup, norm: Literal["l1", "l2"]) -> torch.Tensor:
    """One score per channel of ``group``: the norm of its weights in the importance slices."""
    score = torch.zeros(group.channels)
    for piece in group.importance:
        values = _channel_view(model, piece, group.channels)  # (channels, entries per channel)
        part = values.abs().sum(1) if norm == "l1" else values.pow(2).sum(1)
        score += part.detach().float().cpu()
    return score if norm == "l1" else score.sqrt()


def _channel_view(model: nn.Module, piece: Slice, channels: int) -> torch.Tensor:
    tensor = getattr(model.get_submodule(piece.module), piece.tensor)
    part = tensor.narrow(piece.dim, piece.offset, channels * piece.block).movedim(piece.dim, 0)
    return part.reshape(channels, -1)


def mask_group_(model: nn.Module, group: ChannelGroup, keep: torch.Tensor) -> None:
    """Mask every slice of ``group`` for the channels where ``keep`` is False."""
    per_tensor: dict[tuple[str, str, int], torch.Tensor] = {}
    for piece in group.slices:
        module = model.get_submodule(piece.module)
        size = getattr(module, piece.tensor).shape[piece.dim]
        key = (piece.module, piece.tensor, piece.dim)
        vector = per_tensor.setdefault(key, torch.ones(size, dtype=torch.bool))
        vector[piece.offset:piece.offset + group.channels * piece.block] = keep.repeat_interleave(piece.block)
    for (module_name, tensor, dim), vector in per_tensor.items():
        add_channel_mask_(model.get_submodule(module_name), tensor, dim, vector)


@register_pruner(StructuredPruning)
@torch.no_grad()
def _structured(model: nn.Module, config: StructuredPruning, calibration: Calibration | None) -> None:
    groups = [g for g in find_groups(model, config.unit) if config.selects(g.producer)]
    if not groups:
        raise UserError(f"StructuredPruning(unit={config.unit!r}) found no prunable {config.unit}s "
                        "(a producer must feed exactly one consumer through BatchNorm, activations, "
                        "pooling or a flatten; attention must be nn.MultiheadAttention or a q/k/v/o module)")
    for group in groups:
        pruned = min(round(config.amount * group.channels), group.channels - 1)
        if pruned == 0:
            continue
        scores = group_importance(model, group, config.importance)
        keep = torch.ones(group.channels, dtype=torch.bool)
        keep[torch.topk(scores, pruned, largest=False).indices] = False
        mask_group_(model, group, keep)


def group_sparsity_penalty(model: nn.Module, unit: Unit = "filter") -> torch.Tensor:
    """The group-lasso regulariser ``Σ_g ‖w_g‖₂`` over every channel of every prunable group of
    ``unit`` (the weights a structured mask would remove together), differentiable: add
    ``λ · group_sparsity_penalty(model)`` to the loss to drive whole channels to zero."""
    total: torch.Tensor | None = None
    for group in find_groups(model, unit):
        squares = sum(_channel_view(model, piece, group.channels).pow(2).sum(1) for piece in group.slices)
        norms = torch.as_tensor(squares).clamp_min(1e-30).sqrt().sum()
        total = norms if total is None else total + norms
    if total is None:
        raise UserError(f"group_sparsity_penalty: no prunable {unit} groups in this model")
    return total
