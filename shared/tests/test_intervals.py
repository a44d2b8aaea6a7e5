"""Mean intervals against scipy's t interval, and their edge cases."""

from __future__ import annotations

import math

import pytest

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.intervals import mean_interval


def test_matches_scipy_t_interval():
    from scipy import stats

    values = [0.81, 0.86, 0.79, 0.9, 0.84]
    interval = mean_interval(values, confidence=0.9)
    low, high = stats.t.interval(0.9, len(values) - 1, loc=sum(values) / 5, scale=stats.sem(values))
    assert interval.mean - interval.half_width == pytest.approx(low)
    assert interval.mean + interval.half_width == pytest.approx(high)
    assert interval.format(2) == f"{interval.mean:.2f} ± {interval.half_width:.2f}"


def test_single_run_has_no_interval():
    interval = mean_interval([0.5])
    assert interval.std == 0.0 and math.isnan(interval.half_width) and interval.format() == "0.500"


@pytest.mark.parametrize("values, confidence", [([], 0.95), ([1.0], 1.5)])
def test_bad_arguments(values, confidence):
    with pytest.raises(ConfigError):
        mean_interval(values, confidence)
