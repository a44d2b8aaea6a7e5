"""The paper's two comparisons, as plain functions of recorded numbers.

1. *Convergence*: when does each size's validation loss first reach a target, in steps, FLOPs
   and seconds (:func:`crossing`, linear between evaluations)?
2. *Compression*: among compressed versions stored in at most ``b`` bits, which size gives the
   lowest loss (:func:`best_within`), and which points no other point beats in both size and loss
   (:func:`pareto_front`)?
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from methodzoo.train_large_compress.runner import Evaluation, RunResult

Axis = Literal["step", "flops", "seconds"]


def crossing(evaluations: Sequence[Evaluation], target: float, axis: Axis = "step") -> float | None:
    """Where the validation loss first reaches ``target`` (≤), interpolated linearly between the
    last evaluation above it and the first at or below it; None if it never does."""
    previous: Evaluation | None = None
    for record in evaluations:
        if record.val_loss <= target:
            if previous is None:
                return float(getattr(record, axis))
            fraction = (previous.val_loss - target) / (previous.val_loss - record.val_loss)
            start, end = float(getattr(previous, axis)), float(getattr(record, axis))
            return start + fraction * (end - start)
        previous = record
    return None


def reachable_target(runs: Iterable[RunResult]) -> float:
    """The lowest loss every run reaches: the largest of the runs' best validation losses."""
    best = [min(e.val_loss for e in run.evaluations) for run in runs]
    if not best:
        raise ValueError("no runs")
    return max(best)


def mean_and_spread(values: Sequence[float | None]) -> tuple[float, float]:
    """Mean and sample standard deviation of the defined values (NaN when none; spread 0 for one)."""
    defined = [v for v in values if v is not None and math.isfinite(v)]
    if not defined:
        return math.nan, math.nan
    return statistics.fmean(defined), statistics.stdev(defined) if len(defined) > 1 else 0.0


@dataclass(frozen=True)
class CompressedPoint:
    """One compressed model: its size, method, storage in bits and quality (loss, lower is better)."""

    label: str
    seed: int
    method: str
    setting: str
    bits: int
    loss: float
    accuracy: float | None = None


def best_within(points: Iterable[CompressedPoint], budget_bits: float) -> CompressedPoint | None:
    """The lowest-loss point stored in at most ``budget_bits``, or None."""
    within = [p for p in points if p.bits <= budget_bits and math.isfinite(p.loss)]
    return min(within, key=lambda p: (p.loss, p.bits)) if within else None


def pareto_front(points: Iterable[CompressedPoint]) -> list[CompressedPoint]:
    """The points no other point beats in both bits and loss, from the smallest up."""
    front: list[CompressedPoint] = []
    for point in sorted(points, key=lambda p: (p.bits, p.loss)):
        if math.isfinite(point.loss) and (not front or point.loss < front[-1].loss):
            front.append(point)
    return front
