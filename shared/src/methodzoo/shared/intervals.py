"""A mean over repeated runs (seeds) with its spread and a Student-t confidence interval."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import NamedTuple

from methodzoo.shared.errors import ConfigError


class MeanInterval(NamedTuple):
    """``mean ± half_width`` is the ``confidence`` interval of the mean; ``std`` is the sample
    standard deviation (n − 1); ``half_width`` is NaN for a single run."""

    mean: float
    std: float
    half_width: float
    n: int

    def format(self, digits: int = 3) -> str:
        """``0.912 ± 0.013`` (or just the mean for one run)."""
        if self.n < 2:
            return f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} ± {self.half_width:.{digits}f}"


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> MeanInterval:
    """Mean, standard deviation and the two-sided Student-t interval half-width
    ``t_{(1+c)/2, n−1} · s / √n``.

    >>> round(mean_interval([1.0, 2.0, 3.0]).half_width, 4)
    2.4841
    """
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    data = [float(v) for v in values]
    if not data:
        raise ConfigError("mean_interval needs at least one value")
    mean = statistics.fmean(data)
    if len(data) == 1:
        return MeanInterval(mean, 0.0, float("nan"), 1)
    from scipy.stats import t

    std = statistics.stdev(data)
    quantile = float(t.ppf((1 + confidence) / 2, len(data) - 1))
    return MeanInterval(mean, std, quantile * std / math.sqrt(len(data)), len(data))


__all__ = ["MeanInterval", "mean_interval"]
