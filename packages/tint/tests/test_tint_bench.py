"""The benchmark's verdicts on the paper's claim (the runs themselves are the benchmark's)."""

from __future__ import annotations

import pytest

from methodzoo.tint.bench import TARGET_GAIN_SHARE, verdicts


def test_verdicts_compare_tints_gain_with_dynamic_evaluations() -> None:
    improves, tracks = verdicts(before=10.0, after=9.0, dynamic=8.0)
    assert improves.held and tracks.held
    assert tracks.ratio == pytest.approx(0.5 / TARGET_GAIN_SHARE)
    improves, tracks = verdicts(before=10.0, after=10.1, dynamic=9.0)
    assert improves.held is False and tracks.held is False
    assert verdicts(before=10.0, after=9.9, dynamic=10.0)[1].held is None  # no gain to track
