import math

from methodzoo.train_large_compress.analysis import (
    CompressedPoint,
    best_within,
    crossing,
    mean_and_spread,
    pareto_front,
    reachable_target,
)
from methodzoo.train_large_compress.runner import Evaluation, RunResult

CURVE = [Evaluation(0, 0.0, 0.0, 5.0), Evaluation(10, 100.0, 1.0, 4.0), Evaluation(20, 200.0, 2.5, 3.0)]


def test_crossing_interpolates_between_evaluations() -> None:
    assert crossing(CURVE, 3.5) == 15.0
    assert crossing(CURVE, 3.5, "flops") == 150.0
    assert crossing(CURVE, 3.5, "seconds") == 1.75
    assert crossing(CURVE, 5.0) == 0.0
    assert crossing(CURVE, 2.9) is None


def test_reachable_target_is_reached_by_every_run() -> None:
    def run(losses: list[float]) -> RunResult:
        return RunResult("x", {}, "mlm", 0, 1, 1.0, 1.0,
                         evaluations=[Evaluation(i, i, i, v) for i, v in enumerate(losses)])

    runs = [run([5, 4, 3.2]), run([5, 3.5, 3.6]), run([5, 2, 1])]
    target = reachable_target(runs)
    assert target == 3.5
    assert all(crossing(r.evaluations, target) is not None for r in runs)


def test_best_within_and_pareto_front() -> None:
    points = [CompressedPoint("s", 0, "ptq", "8", 100, 3.0), CompressedPoint("l", 0, "ptq", "2", 90, 3.2),
              CompressedPoint("l", 0, "ptq", "4", 180, 2.5), CompressedPoint("s", 0, "ptq", "2", 40, 4.0),
              CompressedPoint("l", 0, "prune", "0.9", 120, 3.5)]
    assert best_within(points, 100).setting == "8"
    assert best_within(points, 39) is None
    assert [(p.label, p.setting) for p in pareto_front(points)] == [("s", "2"), ("l", "2"), ("s", "8"), ("l", "4")]


def test_mean_and_spread_ignore_missing_values() -> None:
    assert mean_and_spread([1.0, None, 3.0]) == (2.0, math.sqrt(2.0))
    assert math.isnan(mean_and_spread([None])[0])
