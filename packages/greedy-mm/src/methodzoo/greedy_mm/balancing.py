"""Balanced multi-modal learning (Wu et al., 2022, Sec. 5) and its random variant, as
after-backward hooks.

A balancer is called once per optimisation step, after ``loss.backward()`` and before
``optimizer.step()``. It reads that step's gradients (the learning-speed sums are updated after
regular steps only, as in the released code) and decides what the *next* forward does: a
regular step, or a re-balancing step for the cared-for modality c, in which every MMTM replaces
branch c's gate by its running average. It sets that mode on the model's MMTM modules itself,
so hooking :meth:`Balancer.after_backward` into any training loop is enough.

* :class:`Balancer` (vanilla): regular steps only; still tracks the learning speed.
* :class:`GuidedBalancer` (the paper's algorithm): from ``starting_epoch`` on, after each regular
  step, if |d_speed| > α, re-balance for the next Q steps (d_speed is not recomputed inside the
  window) with c = 0 when d_speed > 0 (branch 0 learns relatively faster from m1, so m0 is
  under-used) and c = 1 otherwise.
* :class:`RandomBalancer`: from ``starting_epoch`` on, each step is drawn uniformly from
  {regular, re-balance m0, re-balance m1}.

Epochs are counted from 1, as in the released code, so ``starting_epoch = 2`` keeps the whole
first epoch regular.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from methodzoo.greedy_mm.config import BalanceConfig
from methodzoo.greedy_mm.mmtm import set_rebalancing
from methodzoo.greedy_mm.speed import LearningSpeedTracker
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator

REGULAR = -1  # mode code of a regular step in the trace; 0 and 1 name the cared-for modality


class Balancer:
    """Vanilla training: every step regular. Subclasses override :meth:`next_mode`."""

    def __init__(self, tracker: LearningSpeedTracker, *, starting_epoch: int = 2,
                 speed_in_windows: bool = False) -> None:
        if starting_epoch < 1:
            raise ConfigError(f"starting_epoch counts from 1, got {starting_epoch}")
        self.tracker = tracker
        self.starting_epoch = starting_epoch
        self.speed_in_windows = speed_in_windows
        self.epoch = 0
        self.cared: int | None = None  # mode of the next forward
        self.trace: list[int] = []  # mode of every completed step (REGULAR, 0 or 1)
        self.d_speed = float("nan")

    @property
    def unlocked(self) -> bool:
        """Whether balancing may act in the current epoch."""
        return self.epoch >= self.starting_epoch

    def begin_epoch(self, epoch: int) -> None:
        """Call at the start of each epoch (counted from 1)."""
        self.epoch = epoch

    def after_backward(self, model: nn.Module) -> None:
        """Record the step just back-propagated, update the speed, choose and set the next mode."""
        was_regular = self.cared is None
        self.trace.append(REGULAR if was_regular else self.cared)  # type: ignore[arg-type]
        if was_regular or self.speed_in_windows:
            self.d_speed = self.tracker.after_backward(model)
        self.cared = self.next_mode(was_regular)
        set_rebalancing(model, self.cared)

    def next_mode(self, was_regular: bool) -> int | None:
        """The cared-for modality of the next step, or None for a regular step."""
        return None

    def trainer_hook(self, steps_per_epoch: int) -> Callable[[Any], dict[str, float]]:
        """An after-backward hook for the core ``Trainer`` (its ``gradient_hooks``), whose steps
        count from 0: the epoch (from 1) is ``trainer.step // steps_per_epoch + 1``. Logs
        ``d_speed`` and the next step's mode (−1 regular, else the cared-for modality)."""
        if steps_per_epoch < 1:
            raise ConfigError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")

        def hook(trainer: Any) -> dict[str, float]:
            epoch = trainer.step // steps_per_epoch + 1
            if epoch != self.epoch:
                self.begin_epoch(epoch)
            self.after_backward(trainer.model)
            return {"d_speed": self.d_speed, "next_mode": float(REGULAR if self.cared is None else self.cared)}

        return hook

    def reset_mode(self, model: nn.Module) -> None:
        """Back to regular steps for the next forward."""
        self.cared = None
        set_rebalancing(model, None)

    def apply(self, model: nn.Module) -> None:
        """Set the next step's mode on ``model``'s MMTMs (after :meth:`load_state_dict`)."""
        set_rebalancing(model, self.cared)

    def mode_fractions(self, last: int | None = None) -> dict[str, float]:
        """Fractions of regular / re-balance-m0 / re-balance-m1 steps among the ``last`` steps."""
        steps = self.trace[-last:] if last else self.trace
        total = max(1, len(steps))
        return {"regular": steps.count(REGULAR) / total, "rebalance_m0": steps.count(0) / total,
                "rebalance_m1": steps.count(1) / total}

    def state_dict(self) -> dict[str, Any]:
        return {"tracker": self.tracker.state_dict(), "epoch": self.epoch, "cared": self.cared,
                "trace": list(self.trace), "d_speed": self.d_speed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state["tracker"])
        self.epoch = int(state["epoch"])
        self.cared = state["cared"]
        self.trace = [int(v) for v in state["trace"]]
        self.d_speed = float(state["d_speed"])


class GuidedBalancer(Balancer):
    """The paper's balancing: windows of ``window`` (Q) re-balancing steps when |d_speed| > ``alpha``."""

    def __init__(self, tracker: LearningSpeedTracker, *, alpha: float = 0.01, window: int = 5,
                 starting_epoch: int = 2, speed_in_windows: bool = False) -> None:
        super().__init__(tracker, starting_epoch=starting_epoch, speed_in_windows=speed_in_windows)
        if alpha < 0:
            raise ConfigError(f"alpha must be >= 0, got {alpha}")
        if window < 1:
            raise ConfigError(f"window must be >= 1, got {window}")
        self.alpha = alpha
        self.window = window
        self.window_step = 0

    def next_mode(self, was_regular: bool) -> int | None:
        if not self.unlocked:
            return None
        if not was_regular:
            self.window_step += 1
            return None if self.window_step == self.window else self.cared
        if abs(self.d_speed) > self.alpha:  # NaN compares False: no window before the speed exists
            self.window_step = 0
            return 0 if self.d_speed > 0 else 1
        return None

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "window_step": self.window_step}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.window_step = int(state["window_step"])


class RandomBalancer(Balancer):
    """The random variant: each step uniformly regular, re-balance m0 or re-balance m1."""

    def __init__(self, tracker: LearningSpeedTracker, *, starting_epoch: int = 2,
                 generator: torch.Generator | int | None = None, speed_in_windows: bool = False) -> None:
        super().__init__(tracker, starting_epoch=starting_epoch, speed_in_windows=speed_in_windows)
        self.generator = make_generator(generator)

    def next_mode(self, was_regular: bool) -> int | None:
        if not self.unlocked:
            return None
        draw = int(torch.randint(0, 3, (1,), generator=self.generator))
        return None if draw == 2 else draw

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.generator.set_state(state["generator"])


def make_balancer(config: BalanceConfig, tracker: LearningSpeedTracker,
                  generator: torch.Generator | int | None = None) -> Balancer:
    """The balancer ``config.method`` names: vanilla, balanced or random."""
    if config.method == "vanilla":
        return Balancer(tracker, starting_epoch=config.starting_epoch, speed_in_windows=config.speed_in_windows)
    if config.method == "balanced":
        return GuidedBalancer(tracker, alpha=config.alpha, window=config.window,
                              starting_epoch=config.starting_epoch, speed_in_windows=config.speed_in_windows)
    return RandomBalancer(tracker, starting_epoch=config.starting_epoch, generator=generator,
                          speed_in_windows=config.speed_in_windows)
