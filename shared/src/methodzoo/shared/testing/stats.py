"""Statistical acceptance bands for tests of random procedures."""

from __future__ import annotations

from scipy import stats


def binomial_band(trials: int, probability: float, confidence: float = 0.99) -> tuple[int, int]:
    """The central ``confidence`` interval of Binomial(trials, probability) counts.

    A rejection count of a calibrated test over ``trials`` null draws falls inside it with
    probability at least ``confidence``.
    """
    tail = (1.0 - confidence) / 2.0
    low = int(stats.binom.ppf(tail, trials, probability))
    high = int(stats.binom.isf(tail, trials, probability))
    return low, high
