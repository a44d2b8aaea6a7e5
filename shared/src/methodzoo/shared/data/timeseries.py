"""Offline wearable time series bundled with aeon (the ``timeseries`` extra).

Both sets ship inside the aeon wheel, so nothing is downloaded. Class labels are mapped to
integers in natural sorted order (see :func:`~methodzoo.shared.data.labels.natural_key`), the
same for both splits.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

import numpy as np
import torch

from methodzoo.shared.data.labels import encode_labels, sorted_names
from methodzoo.shared.data.types import LabeledSeries
from methodzoo.shared.errors import ConfigError, UserError, missing_extra

Split = Literal["train", "test"]

BASIC_MOTIONS_CHANNELS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")


def _aeon_datasets() -> Any:
    try:
        import aeon.datasets
    except ImportError:
        raise missing_extra("aeon", "methodzoo-shared", "timeseries") from None
    return aeon.datasets


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")


def basic_motions(split: Split = "train") -> LabeledSeries:
    """BasicMotions: smartwatch accelerometer and gyroscope (x, y, z each), 10 Hz.

    40 series a split, ``(40, 6, 100)``; 4 classes ``badminton, running, standing, walking``.
    """
    _check_split(split)
    values, names = _aeon_datasets().load_basic_motions(split=split)
    values = np.asarray(values, dtype=np.float32)
    if values.shape[1:] != (6, 100):
        raise UserError(f"aeon's BasicMotions has an unexpected shape {values.shape}")
    labels, classes = encode_labels([str(n) for n in names])
    return LabeledSeries(torch.from_numpy(values), labels, classes, BASIC_MOTIONS_CHANNELS)


@cache
def _pickup_split(split: str) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    series, names = _aeon_datasets().load_pickup_gesture_wiimoteZ(split=split)
    # aeon returns a list of (1, T_i) arrays because the gestures differ in length.
    arrays = tuple(np.asarray(s, dtype=np.float64).reshape(-1) for s in series)
    return arrays, tuple(str(n) for n in names)


def pickup_gesture(split: Split = "train", length: int | None = None) -> LabeledSeries:
    """PickupGestureWiimoteZ: the z acceleration of a Wii remote, 10 gestures, 50 per split.

    The gestures last 29 to 361 samples. Each is resampled by linear interpolation over its own
    duration to ``length`` samples (default: the longest gesture of both splits, 361), so the
    whole curve is kept and no padding value is invented: ``(50, 1, length)``. Classes are the
    gesture numbers ``1`` to ``10`` in numeric order.
    """
    _check_split(split)
    series, names = _pickup_split(split)
    if length is None:
        length = max(len(s) for part in ("train", "test") for s in _pickup_split(part)[0])
    if length < 2:
        raise ConfigError(f"length must be at least 2, got {length}")
    values = np.stack([resample_linear(s, length) for s in series]).astype(np.float32)
    classes = sorted_names(_pickup_split("train")[1] + _pickup_split("test")[1])
    labels, _ = encode_labels(names, classes)
    return LabeledSeries(torch.from_numpy(values[:, None, :]), labels, classes, ("acc_z",))


def resample_linear(series: np.ndarray, length: int) -> np.ndarray:
    """A 1-D series linearly interpolated to ``length`` points spanning the same duration.

    >>> resample_linear(np.array([0.0, 2.0]), 3).tolist()
    [0.0, 1.0, 2.0]
    """
    series = np.asarray(series, dtype=np.float64).reshape(-1)
    if len(series) == 1:
        return np.full(length, series[0])
    old = np.linspace(0.0, 1.0, len(series))
    return np.interp(np.linspace(0.0, 1.0, length), old, series)
