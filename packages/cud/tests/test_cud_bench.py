"""The benchmark's verdicts on the paper's claim (the runs themselves are the benchmark's)."""

from __future__ import annotations

import pytest

from methodzoo.cud.bench import TARGET_RATIOS, verdicts


def _metrics(ratios: dict[int, float], met: bool) -> dict[str, object]:
    out: dict[str, object] = {}
    for variant in ("cud", "cud1step"):
        out.update({f"swd_ratio_{variant}_fm_{s}": r for s, r in ratios.items()})
        out[f"target_met_{variant}"] = met
    return out


def test_verdict_ratio_is_the_worst_ratio_over_its_target() -> None:
    one_session, pipeline = verdicts(_metrics({1: 0.4, 2: 0.6, 16: 0.9}, met=False))
    assert one_session.held is False and pipeline.held is False
    assert one_session.ratio == pytest.approx(0.6 / TARGET_RATIOS[2])
    assert "0.60 at N = 2" in one_session.measured
    assert verdicts(_metrics({1: 0.1, 2: 0.2, 16: 1.0}, met=True))[0].ratio == pytest.approx(1.0)
