"""Movement pruning (Sanh, Wolf & Rush 2020): keep the weights that move away from zero during
fine-tuning, learned through importance scores with a straight-through gradient.

Each selected weight ``W`` gets scores ``S`` (zero at the start) and is used as
``W' = W ⊙ M`` with ``M = TopK(S)`` (the ``1 - sparsity`` largest scores of the tensor). The
top-k has no gradient, so the forward uses ``M + S - stop_gradient(S)``: the value is ``M`` and
``∂L/∂S = ∂L/∂W' ⊙ W``, the straight-through estimator. With SGD the scores then accumulate
``-Σ_t (∂L/∂W)_t ⊙ W_t``: large for weights moving away from zero. Raise the sparsity during
training with a schedule (:mod:`.schedules`, e.g. cubic) and finish with :func:`fix_masks_`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from methodzoo.shared.compress.masks import keep_largest, set_mask_
from methodzoo.shared.compress.parametrized import (
    parametrizations_of,
    parametrized_tensors,
    register_,
    remove_,
)
from methodzoo.shared.compress.prune import Calibration, register_pruner, selected_targets
from methodzoo.shared.compress.targets import LayerSelection
from methodzoo.shared.config import check


@dataclass(frozen=True)
class MovementPruning(LayerSelection):
    """Learn a mask of ``sparsity`` per tensor from movement scores (straight-through gradient).

    Calling ``prune_`` again on a model that already has movement scores only changes the target
    sparsity (what a schedule does), so the scores keep accumulating.
    """

    sparsity: float = 0.5

    def validate(self) -> None:
        super().validate()
        check(0.0 <= self.sparsity < 1.0, "sparsity must be in [0, 1), got {}", self.sparsity)


class MovementMask(nn.Module):
    """Parametrization ``W ↦ W ⊙ (TopK(S) + S − sg(S))`` with learnable scores ``S``."""

    sparsity: torch.Tensor

    def __init__(self, shape: torch.Size, sparsity: float, device: torch.device | None = None) -> None:
        super().__init__()
        self.scores = nn.Parameter(torch.zeros(shape, device=device))
        # A buffer so checkpoints carry the schedule's current target.
        self.register_buffer("sparsity", torch.tensor(float(sparsity)))

    def current_mask(self) -> torch.Tensor:
        """The hard mask of this forward pass (True = kept)."""
        # Selection rather than topk's partial sort: this runs on every forward pass.
        return keep_largest(self.scores.detach(), float(self.sparsity))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        straight_through = self.current_mask().to(weight.dtype) + self.scores - self.scores.detach()
        return weight * straight_through


@register_pruner(MovementPruning)
def _movement(model: nn.Module, config: MovementPruning, calibration: Calibration | None) -> None:
    for target in selected_targets(model, config):
        existing = [p for p in parametrizations_of(target.module, target.tensor) if isinstance(p, MovementMask)]
        if existing:
            existing[0].sparsity.fill_(config.sparsity)
        else:
            weight = target.value()
            register_(target.module, target.tensor, MovementMask(weight.shape, config.sparsity, weight.device))


@torch.no_grad()
def fix_masks_(model: nn.Module) -> nn.Module:
    """Replace every movement mask by a fixed :class:`~.masks.Mask` of its current top-k (the
    scores are dropped; the trained weights and the mask remain)."""
    for _, module, name in parametrized_tensors(model):
        chain = parametrizations_of(module, name)
        movement = [p for p in chain if isinstance(p, MovementMask)]
        if not movement:
            continue
        if len(chain) != len(movement):
            raise ValueError(f"{name}: fix movement masks before adding other parametrizations")
        mask = movement[0].current_mask()
        remove_(module, name, leave_parametrized=False)
        set_mask_(module, name, mask)
    return model
