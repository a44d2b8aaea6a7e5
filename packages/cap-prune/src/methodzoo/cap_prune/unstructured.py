"""Unstructured pruning of the encoder's six weight matrices per layer (Q, K, V, attention output,
FFN in, FFN out) under a cubic schedule, through the core compression toolkit.

* ``movement`` (CAP-m, "topK"): :class:`methodzoo.shared.compress.MovementPruning`, scores start
  at 0, straight-through gradient ``∂L/∂S = ∂L/∂W' ⊙ W``, each matrix keeps
  ``numel − round(sparsity·numel)`` weights (the toolkit's rounding).
* ``soft_movement`` (CAP-soft, "sigmoied_threshold"): ``M = 1[σ(S) > τ_t]`` with the same
  straight-through gradient and the regulariser ``λ_reg(t)·mean_layers ‖σ(S)‖₁/numel``,
  ``λ_reg(t) = final_lambda·τ_t/τ_final``; at least 0.5 % of each matrix is kept. The final
  sparsity follows from ``final_lambda``, not from ``sparsity``.
* ``magnitude``: :class:`methodzoo.shared.compress.MagnitudePruning` per matrix at the scheduled
  sparsity (gradual magnitude pruning).

Embeddings, the pooler and the classifier stay dense; :func:`encoder_sparsity` counts only the
six matrices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from methodzoo.cap_prune.config import UnstructuredConfig
from methodzoo.cap_prune.encoder import PRUNABLE_LINEARS
from methodzoo.shared.compress import (
    MagnitudePruning,
    MovementPruning,
    PruningSchedule,
    fix_masks_,
    prune_,
)
from methodzoo.shared.compress.masks import set_mask_
from methodzoo.shared.compress.parametrized import parametrizations_of, register_, remove_

PRUNABLE_PATTERNS: tuple[str, ...] = tuple(f"*.{name}" for name in PRUNABLE_LINEARS)
MIN_KEPT_FRACTION = 0.005  # soft movement never empties a matrix (movement pruning's rule)


@dataclass(frozen=True)
class SparsityCount:
    """Pruned and total weights of the encoder's prunable matrices (embeddings, pooler and
    classifier excluded)."""

    pruned: int
    total: int

    @property
    def sparsity(self) -> float:
        return self.pruned / self.total if self.total else 0.0


def prunable_linears(model: nn.Module) -> list[tuple[str, nn.Linear]]:
    """The Q/K/V/O and FFN in/out linears, in module order."""
    return [(name, module) for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and name.rsplit(".", 1)[-1] in PRUNABLE_LINEARS]


@torch.no_grad()
def encoder_sparsity(model: nn.Module) -> SparsityCount:
    """Zeros among the weights the prunable matrices compute with (after their masks)."""
    pruned = total = 0
    for _, module in prunable_linears(model):
        weight = module.weight
        pruned += int((weight == 0).sum())
        total += weight.numel()
    return SparsityCount(pruned, total)


def cubic_schedule(config: UnstructuredConfig, total_steps: int, final: float | None = None,
                   frequency: int = 1) -> PruningSchedule:
    """The cubic schedule of movement pruning as the toolkit's data: dense up to
    ``initial_warmup·W``, ``final`` (default the config's sparsity) from ``T − final_warmup·W``,
    with ``W = warmup_ratio·T``; masks change every ``frequency`` steps."""
    unit = config.warmup_ratio * total_steps
    start = round(config.initial_warmup * unit)
    end = max(start + 1, total_steps - round(config.final_warmup * unit))
    return PruningSchedule(kind="cubic", initial_sparsity=0.0,
                           final_sparsity=config.sparsity if final is None else final,
                           start_step=start, end_step=end, frequency=frequency)


class SoftMovementMask(nn.Module):
    """Parametrization ``W ↦ W ⊙ (M + S − sg(S))`` with ``M = 1[σ(S) > τ]`` (Sanh et al. 2020,
    soft movement), at least :data:`MIN_KEPT_FRACTION` of the entries kept."""

    def __init__(self, shape: torch.Size, device: torch.device | None = None) -> None:
        super().__init__()
        self.scores = nn.Parameter(torch.zeros(shape, device=device))
        self.register_buffer("threshold", torch.tensor(0.0, device=device))

    def current_mask(self) -> torch.Tensor:
        probabilities = torch.sigmoid(self.scores.detach())
        mask = probabilities > self.threshold
        minimum = max(1, math.ceil(MIN_KEPT_FRACTION * mask.numel()))
        if int(mask.sum()) < minimum:
            flat = probabilities.reshape(-1)
            mask = torch.zeros_like(flat, dtype=torch.bool)
            mask[torch.topk(flat, minimum).indices] = True
            mask = mask.view_as(probabilities)
        return mask

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * (self.current_mask().to(weight.dtype) + self.scores - self.scores.detach())

    def regularization(self) -> torch.Tensor:
        """``‖σ(S)‖₁ / numel``."""
        return torch.sigmoid(self.scores).mean()


class UnstructuredPruner:
    """Applies ``config.pruner`` to ``model`` at the cubic schedule's sparsity of each step.

    Call :meth:`update` before the forward of step ``t``, add :meth:`regularization` to the loss,
    and :meth:`finish` at the end (movement scores become fixed masks).
    """

    def __init__(self, model: nn.Module, config: UnstructuredConfig, total_steps: int) -> None:
        self.model = model
        self.config = config
        final = config.soft_threshold if config.pruner == "soft_movement" else config.sparsity
        frequency = config.mask_update_every if config.pruner == "magnitude" else 1
        self.schedule = cubic_schedule(config, total_steps, final, frequency)
        self.total_steps = total_steps
        self._start()

    def _selection(self, sparsity: float) -> MovementPruning | MagnitudePruning:
        if self.config.pruner == "movement":
            return MovementPruning(sparsity=sparsity, include=PRUNABLE_PATTERNS)
        return MagnitudePruning(sparsity=sparsity, scope="layer", include=PRUNABLE_PATTERNS)

    def _start(self) -> None:
        if self.config.pruner == "soft_movement":
            for _, module in prunable_linears(self.model):
                register_(module, "weight", SoftMovementMask(module.weight.shape, module.weight.device))
        else:
            # Masks exist from step 0 (all kept), so a checkpoint always has the same keys.
            prune_(self.model, self._selection(0.0))

    def soft_masks(self) -> list[SoftMovementMask]:
        return [p for _, module in prunable_linears(self.model)
                for p in parametrizations_of(module, "weight") if isinstance(p, SoftMovementMask)]

    def update(self, step: int) -> float:
        """Set the masks for optimisation step ``step``; returns the scheduled value
        (sparsity, or the threshold τ_t for soft movement)."""
        value = self.schedule.sparsity_at(step)
        if self.config.pruner == "soft_movement":
            for mask in self.soft_masks():
                mask.threshold.fill_(value)
        elif self.config.pruner == "movement":
            prune_(self.model, self._selection(value))  # sets each mask's target; the top-k runs in the forward
        elif self.schedule.is_pruning_step(step) or step >= self.total_steps:
            prune_(self.model, self._selection(value))
        return value

    def regularization(self, step: int) -> torch.Tensor | None:
        """Soft movement's ``λ_reg(t)·mean_layers ‖σ(S)‖₁/numel`` (None for the other pruners)."""
        if self.config.pruner != "soft_movement":
            return None
        masks = self.soft_masks()
        weight = self.config.final_lambda * self.schedule.sparsity_at(step) / self.config.soft_threshold
        return weight * torch.stack([m.regularization() for m in masks]).mean()

    @torch.no_grad()
    def finish(self) -> None:
        """Set the final masks (the schedule's value after the last step) and freeze them:
        movement and soft-movement scores become fixed element masks."""
        self.update(self.total_steps)
        if self.config.pruner == "movement":
            fix_masks_(self.model)
        elif self.config.pruner == "soft_movement":
            for _, module in prunable_linears(self.model):
                masks = [p for p in parametrizations_of(module, "weight") if isinstance(p, SoftMovementMask)]
                if masks:
                    keep = masks[0].current_mask()
                    remove_(module, "weight", leave_parametrized=False)
                    set_mask_(module, "weight", keep)


def score_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The movement scores (trained with their own learning rate)."""
    return [p for name, p in model.named_parameters() if name.endswith(".scores")]
