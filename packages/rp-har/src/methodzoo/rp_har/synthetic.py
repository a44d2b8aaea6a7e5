"""A seeded synthetic set of trend-mirrored activities: the test a plain recurrence plot must fail.

Each pair of classes (sit-down / stand-up, lie-down / get-up, step-down / step-up) shares
everything but the direction of its trend: a smooth step of random position and height on the
pair's axes, plus the pair's own oscillations (random phases), noise, and a per-subject gain
and offset. Class ``2p`` goes down, ``2p + 1`` up.

Why a plain RP is at chance within a pair: it is invariant to negating and to shifting a
signal, and negating "down + oscillation + noise" gives "up + oscillation' + noise'" whose
oscillation and noise have the same distribution (uniform phases, symmetric noise). So the
plain RP images of the two classes have exactly the same distribution; GASF and quantile MTF
share the same invariance. The pairs differ from each other (frequencies, axes, step width), so
an unsigned encoding should find the pair and then guess the direction: about 1/2 overall with
3 pairs, not 1/6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from methodzoo.rp_har.containers import LabeledSeries
from methodzoo.shared.errors import ConfigError


@dataclass(frozen=True)
class ActivityPair:
    """The shared shape of two mirrored activities."""

    down: str
    up: str
    axes: tuple[float, float, float]  # how much of the step each axis (x, y, z) carries
    frequencies: tuple[float, ...]  # oscillations, in cycles per window
    oscillation: float  # their amplitude
    step_width: float  # width of the step (fraction of the window)


PAIRS = (
    ActivityPair("sit_down", "stand_up", (0.2, 0.3, 1.0), (1.5,), 0.25, 0.08),
    ActivityPair("lie_down", "get_up", (0.0, 1.0, 0.8), (0.7, 3.0), 0.2, 0.15),
    ActivityPair("step_down", "step_up", (1.0, 0.0, 0.4), (4.0, 8.0), 0.35, 0.25),
)
CHANNELS = ("acc_x", "acc_y", "acc_z")


def class_names(pairs: tuple[ActivityPair, ...] = PAIRS) -> tuple[str, ...]:
    """``(down_0, up_0, down_1, up_1, …)``: label ``2p`` goes down, ``2p + 1`` up."""
    return tuple(name for pair in pairs for name in (pair.down, pair.up))


def _subject_series(subject: int, per_class: int, length: int, noise: float, seed: int,
                    pairs: tuple[ActivityPair, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """All windows of one subject, drawn from a generator of (seed, subject) alone, so a
    subject's data do not depend on which other subjects are drawn."""
    generator = torch.Generator().manual_seed(seed * 1_000_003 + subject)
    gain = 0.8 + 0.45 * torch.rand(1, generator=generator)  # the subject's movement scale
    offset = 0.5 * torch.randn(3, 1, generator=generator)  # sensor bias / posture, per axis
    time = torch.arange(length, dtype=torch.float64) / length  # (T,)
    windows, labels = [], []
    for index, pair in enumerate(pairs):
        axes = torch.tensor(pair.axes, dtype=torch.float64)[:, None]  # (3, 1)
        for direction in (-1.0, 1.0):
            for _ in range(per_class):
                centre = 0.35 + 0.3 * torch.rand(1, generator=generator, dtype=torch.float64)
                height = 0.8 + 0.4 * torch.rand(1, generator=generator, dtype=torch.float64)
                step = torch.sigmoid((time - centre) / pair.step_width) - 0.5  # (T,)
                window = direction * height * axes * step  # (3, T)
                for frequency in pair.frequencies:
                    phase = 2 * math.pi * torch.rand(3, 1, generator=generator, dtype=torch.float64)
                    window = window + pair.oscillation * torch.sin(2 * math.pi * frequency * time + phase)
                window = gain * window + offset + noise * torch.randn(3, length, generator=generator,
                                                                     dtype=torch.float64)
                windows.append(window)
                labels.append(2 * index + (direction > 0))
    return torch.stack(windows).float(), torch.tensor(labels, dtype=torch.int64)


def trend_mirrored(subjects: int | range | tuple[int, ...] = 8, per_class: int = 6, length: int = 128,
                   noise: float = 0.1, seed: int = 0,
                   pairs: tuple[ActivityPair, ...] = PAIRS) -> LabeledSeries:
    """Windows ``(N, 3, length)`` of the trend-mirrored pairs for the given subjects (a count n
    means subjects 0 … n − 1), ``per_class`` windows per class and subject; ``subjects`` holds
    each window's subject id, for subject-wise splits.

    >>> data = trend_mirrored(subjects=2, per_class=1, length=32)
    >>> tuple(data.values.shape), data.class_names[:2]
    ((12, 3, 32), ('sit_down', 'stand_up'))
    """
    ids = tuple(range(subjects)) if isinstance(subjects, int) else tuple(subjects)
    if not ids or min(ids) < 0:
        raise ConfigError(f"subjects must be a positive count or non-negative ids, got {subjects!r}")
    if per_class < 1 or length < 8 or noise < 0:
        raise ConfigError(f"need per_class >= 1, length >= 8 and noise >= 0, got {per_class}, {length}, {noise}")
    values, labels, owners = [], [], []
    for subject in ids:
        windows, classes = _subject_series(subject, per_class, length, noise, seed, pairs)
        values.append(windows)
        labels.append(classes)
        owners.append(torch.full_like(classes, subject))
    return LabeledSeries(torch.cat(values), torch.cat(labels), class_names(pairs), CHANNELS,
                         torch.cat(owners))


def direction_accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of windows whose predicted trend direction (label parity) is right, whatever the
    pair: 1/2 is chance for an encoding blind to the direction."""
    return float(((predicted % 2) == (labels % 2)).float().mean())


__all__ = ["CHANNELS", "PAIRS", "ActivityPair", "class_names", "direction_accuracy", "trend_mirrored"]
