"""The benchmark's verdicts on the paper's claim (the runs themselves are the benchmark's)."""

from __future__ import annotations

import pytest

from methodzoo.cud.bench import SWEEP_ORDERS, SWEEP_T, TARGET_RATIOS, _target_met, verdicts

VARIANTS = ["cud", "cud_independent", "cud1step", *[f"cud_T{T}" for T in SWEEP_T],
            *[f"cud_order{k}" for k in SWEEP_ORDERS]]


def _metrics(ratios: dict[int, float], best: dict[int, float] | None = None) -> dict[str, object]:
    out: dict[str, object] = {}
    for variant in VARIANTS:
        chosen = best if (best is not None and variant == "cud_T2") else ratios
        for metric in ("swd", "w2"):
            out.update({f"{metric}_ratio_{variant}_fm_{s}": r for s, r in chosen.items()})
        out[f"target_met_{variant}"] = _target_met(out, variant)
    return out


def test_verdict_ratio_is_the_worst_ratio_over_its_target() -> None:
    one_session, independent, pipeline = verdicts(_metrics({1: 0.4, 2: 0.6, 16: 0.9}))
    assert one_session.held is False and independent.held is False and pipeline.held is False
    assert one_session.ratio == pytest.approx(0.6 / TARGET_RATIOS[2])
    assert "0.60 at N = 2" in one_session.measured
    held = verdicts(_metrics({1: 0.1, 2: 0.2, 16: 1.1}))[0]
    assert held.held is True and held.ratio == pytest.approx(1.0)


def test_the_16_step_part_of_the_target_can_fail_alone() -> None:
    assert verdicts(_metrics({1: 0.1, 2: 0.2, 16: 1.2}))[0].held is False


def test_the_best_sweep_row_gets_its_own_verdict() -> None:
    out = verdicts(_metrics({1: 0.9, 2: 0.9, 16: 1.0}, best={1: 0.3, 2: 0.4, 16: 1.5}))
    assert len(out) == 4 and "cud_T2" in out[-1].claim
    assert out[-1].ratio == pytest.approx(1.5 / 1.1)
