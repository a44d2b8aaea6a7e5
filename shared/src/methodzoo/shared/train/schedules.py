"""Learning-rate schedules as multipliers of the base rate, for ``torch.optim.lr_scheduler.LambdaLR``.

Each schedule is a small frozen dataclass called with the 0-based count of optimizer steps
taken so far (what ``LambdaLR`` passes) and returning the factor applied to every group's base
learning rate::

    scheduler = LambdaLR(optimizer, WarmupCosine(total_steps=10_000, warmup_steps=500, floor=0.1))

Being dataclasses rather than closures, they print their settings and ``LambdaLR.state_dict``
saves those settings with the checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from methodzoo.shared.errors import ConfigError


def _check_warmup_span(total_steps: int, warmup_steps: int) -> None:
    if total_steps < 1:
        raise ConfigError(f"total_steps must be >= 1, got {total_steps}")
    if not 0 <= warmup_steps <= total_steps:
        raise ConfigError(f"warmup_steps must be in [0, total_steps={total_steps}], got {warmup_steps}")


@dataclass(frozen=True)
class LinearWarmup:
    """``min(1, (step + 1) / warmup_steps)``: a linear ramp to the base rate, then constant.

    The first step already uses ``1 / warmup_steps`` of the rate (no step at zero);
    ``warmup_steps = 0`` is the constant schedule.

    >>> [LinearWarmup(4)(s) for s in range(6)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """

    warmup_steps: int

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise ConfigError(f"warmup_steps must be >= 0, got {self.warmup_steps}")

    def __call__(self, step: int) -> float:
        if self.warmup_steps == 0:
            return 1.0
        return min(1.0, (step + 1) / self.warmup_steps)


@dataclass(frozen=True)
class StepDecay:
    """``gamma ** k`` with k the number of milestones reached; milestones are fractions of the run.

    Milestone ``m`` takes effect from step ``round(m · total_steps)`` on.

    >>> schedule = StepDecay(total_steps=10, milestones=(0.5, 0.75), gamma=0.1)
    >>> [round(schedule(s), 6) for s in (0, 4, 5, 7, 8, 9)]
    [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    """

    total_steps: int
    milestones: tuple[float, ...]
    gamma: float

    def __post_init__(self) -> None:
        if self.total_steps < 1:
            raise ConfigError(f"total_steps must be >= 1, got {self.total_steps}")
        if any(not 0.0 <= m <= 1.0 for m in self.milestones):
            raise ConfigError(f"milestones are fractions of the run in [0, 1], got {self.milestones}")
        if self.gamma <= 0:
            raise ConfigError(f"gamma must be positive, got {self.gamma}")

    @property
    def boundaries(self) -> tuple[int, ...]:
        """The steps at which the rate is multiplied by ``gamma``."""
        return tuple(round(m * self.total_steps) for m in self.milestones)

    def __call__(self, step: int) -> float:
        return self.gamma ** sum(step >= boundary for boundary in self.boundaries)


@dataclass(frozen=True)
class WarmupCosine:
    """Linear warm-up (as :class:`LinearWarmup`), then a half cosine from 1 down to ``floor``.

    For ``step ≥ warmup_steps``, with ``p = (step − warmup_steps) / max(1, total_steps − warmup_steps)``:
    ``floor + (1 − floor)·(1 + cos(π·p))/2``, so the factor is 1 when the warm-up ends and
    ``floor`` at ``total_steps`` (and it keeps following the cosine beyond, as a closed form).

    >>> schedule = WarmupCosine(total_steps=10, warmup_steps=2, floor=0.1)
    >>> [round(schedule(s), 4) for s in (0, 1, 2, 6, 10)]
    [0.5, 1.0, 1.0, 0.55, 0.1]
    """

    total_steps: int
    warmup_steps: int = 0
    floor: float = 0.0

    def __post_init__(self) -> None:
        _check_warmup_span(self.total_steps, self.warmup_steps)
        if not 0.0 <= self.floor <= 1.0:
            raise ConfigError(f"floor is a fraction of the base rate in [0, 1], got {self.floor}")

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        span = max(1, self.total_steps - self.warmup_steps)
        return self.floor + (1.0 - self.floor) / 2 * (1 + math.cos(math.pi * (step - self.warmup_steps) / span))


@dataclass(frozen=True)
class WarmupLinearDecay:
    """BERT's schedule: linear warm-up (as :class:`LinearWarmup`), then a straight line from 1
    down to 0 at ``total_steps`` (and 0 beyond).

    For ``step ≥ warmup_steps``: ``max(0, (total_steps − step) / max(1, total_steps − warmup_steps))``,
    the rule of Hugging Face's ``get_linear_schedule_with_warmup`` except that the warm-up's first
    step already uses ``1 / warmup_steps`` of the rate.

    >>> schedule = WarmupLinearDecay(total_steps=10, warmup_steps=2)
    >>> [round(schedule(s), 4) for s in (0, 1, 2, 6, 10, 12)]
    [0.5, 1.0, 1.0, 0.5, 0.0, 0.0]
    """

    total_steps: int
    warmup_steps: int = 0

    def __post_init__(self) -> None:
        _check_warmup_span(self.total_steps, self.warmup_steps)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        return max(0.0, (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps))
