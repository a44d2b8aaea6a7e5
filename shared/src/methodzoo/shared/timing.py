"""Wall-clock timing that survives a shared machine: warm-up, median of repeats, and A/B timing
in turns.

Timing two implementations one after the other lets a slow spell of the machine land on one of
them only; :func:`interleaved_timing` runs them in turns, round by round, and reports the median
of the per-round ratios, which a slow spell moves far less than the ratio of two medians.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import torch

from methodzoo.shared.errors import ConfigError

Result = TypeVar("Result")


def synchronize(device: torch.device | str | None) -> None:
    """Wait for queued CUDA work on ``device`` (a no-op on the CPU), so a timer sees all of it."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


class Timing(NamedTuple):
    """Seconds of each timed repeat, and their median."""

    median_s: float
    times_s: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        return 1000.0 * self.median_s

    @property
    def min_s(self) -> float:
        return min(self.times_s)


def timed_call(fn: Callable[[], Result], *, device: torch.device | str | None = None) -> tuple[Result, float]:
    """Run ``fn()`` once: its result and its wall time in seconds (waiting for a CUDA ``device``
    before and after). For work that is done anyway and timed on the way (a training run, one
    encode); a speed comparison wants :func:`time_call` or :func:`interleaved_timing`.

    >>> value, seconds = timed_call(lambda: sum(range(10)))
    >>> value, seconds >= 0
    (45, True)
    """
    synchronize(device)
    start = time.perf_counter()
    result = fn()
    synchronize(device)
    return result, time.perf_counter() - start


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished (waited-for) child processes:
    what a run would take on idle cores, whatever else shares the machine. Differences of two
    calls time a block."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed_once(fn: Callable[[], Any], device: torch.device | str | None) -> float:
    return timed_call(fn, device=device)[1]


def _check_counts(repeats: int, warmup: int) -> None:
    if repeats < 1:
        raise ConfigError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ConfigError(f"warmup must be >= 0, got {warmup}")


def time_call(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1,
              device: torch.device | str | None = None) -> Timing:
    """Median wall time of ``fn()`` over ``repeats`` calls after ``warmup`` untimed ones.

    With a CUDA ``device`` the timer waits for the device before and after each call.

    >>> time_call(lambda: sum(range(100)), repeats=3).median_s >= 0
    True
    """
    _check_counts(repeats, warmup)
    for _ in range(warmup):
        fn()
    times = tuple(_timed_once(fn, device) for _ in range(repeats))
    return Timing(statistics.median(times), times)


@dataclass(frozen=True)
class InterleavedTiming:
    """Per-call timings from :func:`interleaved_timing`."""

    times_s: dict[str, tuple[float, ...]]

    def median_s(self, name: str) -> float:
        return statistics.median(self._times(name))

    def median_ms(self, name: str) -> float:
        return 1000.0 * self.median_s(name)

    def ratio(self, numerator: str, denominator: str) -> float:
        """Median over rounds of ``time(numerator) / time(denominator)`` in the same round
        (above 1: ``numerator`` is slower)."""
        pairs = zip(self._times(numerator), self._times(denominator), strict=True)
        return statistics.median(a / b for a, b in pairs)

    def _times(self, name: str) -> tuple[float, ...]:
        if name not in self.times_s:
            raise KeyError(f"no timing named {name!r}; timed: {', '.join(self.times_s)}")
        return self.times_s[name]


def interleaved_timing(calls: Mapping[str, Callable[[], Any]], *, rounds: int = 7, warmup: int = 1,
                       device: torch.device | str | None = None) -> InterleavedTiming:
    """Time several calls in turns: each round runs every call once, the starting call rotating
    from round to round so none always runs first (after a cache-warming peer)."""
    _check_counts(rounds, warmup)
    if not calls:
        raise ConfigError("interleaved_timing needs at least one call")
    names = list(calls)
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_timed_once(calls[name], device))
    return InterleavedTiming({name: tuple(values) for name, values in times.items()})


__all__ = ["InterleavedTiming", "Timing", "cpu_seconds", "interleaved_timing", "synchronize", "time_call", "timed_call"]
