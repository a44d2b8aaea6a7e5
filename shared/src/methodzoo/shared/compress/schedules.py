"""Pruning schedules as data: when to prune and to what sparsity, as a validated config.

Three kinds, all pure functions of the step (so a resumed run prunes exactly as the original):

* ``"one_shot"``: ``final_sparsity`` at ``start_step``.
* ``"iterative"`` (Han et al. 2015's prune → retrain loop): every ``frequency`` steps from
  ``start_step`` to ``end_step``, raised in equal increments from ``initial_sparsity`` to
  ``final_sparsity``.
* ``"cubic"`` (Zhu & Gupta 2017, "To prune, or not to prune"):
  ``s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(t_end − t₀))³``, applied every ``frequency`` steps.

:class:`ScheduledPruning` applies a schedule during training; pass it as the ``callback`` of
:meth:`methodzoo.shared.train.Trainer.fit`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

from methodzoo.shared.compress.prune import Calibration, prune_
from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import ConfigError


@dataclass(frozen=True)
class PruningSchedule(Config):
    """When to prune, and to what sparsity (see the module docstring for the three kinds)."""

    kind: Literal["one_shot", "iterative", "cubic"] = "cubic"
    final_sparsity: float = 0.9
    initial_sparsity: float = 0.0
    start_step: int = 0
    end_step: int = 1000
    frequency: int = 100

    def validate(self) -> None:
        check(0.0 <= self.initial_sparsity <= self.final_sparsity < 1.0,
              "need 0 <= initial_sparsity <= final_sparsity < 1, got {} and {}",
              self.initial_sparsity, self.final_sparsity)
        check(self.start_step >= 0, "start_step must be >= 0, got {}", self.start_step)
        check(self.frequency >= 1, "frequency must be >= 1, got {}", self.frequency)
        if self.kind != "one_shot":
            check(self.end_step > self.start_step, "end_step ({}) must come after start_step ({})",
                  self.end_step, self.start_step)

    def is_pruning_step(self, step: int) -> bool:
        """Whether the model is pruned after ``step`` completed optimisation steps."""
        if self.kind == "one_shot":
            return step == self.start_step
        if step < self.start_step or step > self.end_step:
            return False
        return (step - self.start_step) % self.frequency == 0 or step == self.end_step

    def sparsity_at(self, step: int) -> float:
        """The target sparsity after ``step`` completed steps."""
        if self.kind == "one_shot":
            return self.final_sparsity if step >= self.start_step else 0.0
        if step < self.start_step:
            return self.initial_sparsity
        span = self.end_step - self.start_step
        if step >= self.end_step:
            return self.final_sparsity
        progress = (step - self.start_step) / span
        if self.kind == "cubic":
            return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * (1.0 - progress) ** 3
        # iterative: the value of the last pruning step reached
        done = (step - self.start_step) // self.frequency * self.frequency / span
        return self.initial_sparsity + (self.final_sparsity - self.initial_sparsity) * done

    def pruning_steps(self) -> list[int]:
        """Every step at which the schedule prunes."""
        if self.kind == "one_shot":
            return [self.start_step]
        return [s for s in range(self.start_step, self.end_step + 1) if self.is_pruning_step(s)]


class ScheduledPruning:
    """Prune ``model`` with ``method`` (a pruning config with a ``sparsity`` field) as
    ``schedule`` says. Call :meth:`step` after each optimisation step, or pass the object as
    ``Trainer.fit(..., callback=...)``."""

    def __init__(self, model: nn.Module, method: Config, schedule: PruningSchedule,
                 calibration: Calibration | None = None) -> None:
        if "sparsity" not in {f.name for f in dataclasses.fields(method)}:
            raise ConfigError(f"{type(method).__name__} has no sparsity to schedule")
        self.model = model
        self.method = method
        self.schedule = schedule
        self.calibration = calibration
        self.applied: list[tuple[int, float]] = []

    def step(self, step: int) -> bool:
        """Prune if ``step`` is a pruning step; return whether it was."""
        if not self.schedule.is_pruning_step(step):
            return False
        sparsity = self.schedule.sparsity_at(step)
        prune_(self.model, self.method.replace(sparsity=sparsity), calibration=self.calibration)
        self.applied.append((step, sparsity))
        return True

    def __call__(self, trainer: Any, scalars: dict[str, float]) -> None:
        self.step(trainer.step)
