"""Early stopping on an evaluated metric: patience, direction, the best step and its weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from methodzoo.shared.errors import ConfigError


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when ``metric`` has not improved for ``patience`` evaluations in a row.

    An evaluation improves on the best so far when it is lower by more than ``min_delta``
    (``mode="min"``) or higher by more than ``min_delta`` (``mode="max"``). With
    ``restore_best`` the model gets the weights of the best evaluation back when training stops
    early (a run that reaches its last step keeps its last weights).
    """

    metric: str
    mode: Literal["min", "max"] = "min"
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = False

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ConfigError(f"early stopping mode must be 'min' or 'max', got {self.mode!r}")
        if self.patience < 1:
            raise ConfigError(f"patience must be >= 1 evaluation, got {self.patience}")
        if self.min_delta < 0:
            raise ConfigError(f"min_delta must be >= 0, got {self.min_delta}")


class EarlyStoppingMonitor:
    """What early stopping has seen so far: the best value and step, evaluations since, the stop.

    Saved in checkpoints (the best weights too when ``restore_best`` is on), so a resumed run
    stops where the uninterrupted one would.
    """

    def __init__(self, rule: EarlyStopping) -> None:
        self.rule = rule
        self.best_value: float | None = None
        self.best_step: int | None = None
        self.evaluations_without_improvement = 0
        self.stopped_at: int | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None

    def improves(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.best_value is None:
            return True
        if self.rule.mode == "min":
            return value < self.best_value - self.rule.min_delta
        return value > self.best_value + self.rule.min_delta

    def observe(self, step: int, metrics: dict[str, float], model: nn.Module) -> bool:
        """Record the evaluation at ``step``; True when training should stop now."""
        if self.rule.metric not in metrics:
            raise ConfigError(f"early stopping watches {self.rule.metric!r}, but the evaluation returned "
                              f"{sorted(metrics)}")
        value = float(metrics[self.rule.metric])
        if self.improves(value):
            self.best_value, self.best_step = value, step
            self.evaluations_without_improvement = 0
            if self.rule.restore_best:
                self.best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return False
        self.evaluations_without_improvement += 1
        if self.evaluations_without_improvement >= self.rule.patience:
            self.stopped_at = step
            if self.best_weights is not None:
                model.load_state_dict(self.best_weights)
            return True
        return False

    def state_dict(self) -> dict[str, Any]:
        return {"best_value": self.best_value, "best_step": self.best_step,
                "evaluations_without_improvement": self.evaluations_without_improvement,
                "stopped_at": self.stopped_at, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best_value = state["best_value"]
        self.best_step = state["best_step"]
        self.evaluations_without_improvement = int(state["evaluations_without_improvement"])
        self.stopped_at = state["stopped_at"]
        self.best_weights = state["best_weights"]
