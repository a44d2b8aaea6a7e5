"""Cutting long recordings into fixed-length windows, the usual unit of activity recognition."""

from __future__ import annotations

import numpy as np

from methodzoo.shared.errors import ConfigError


def sliding_windows(recording: np.ndarray, window: int, step: int) -> np.ndarray:
    """Windows of ``window`` samples every ``step`` samples from a ``(T, C)`` recording.

    Returns ``(N, C, window)`` (channels first, like :class:`LabeledSeries`); a tail shorter than
    ``window`` is dropped, and a recording shorter than ``window`` gives ``N = 0``.

    >>> sliding_windows(np.arange(10.0).reshape(5, 2), window=2, step=2)[:, 0].tolist()
    [[0.0, 2.0], [4.0, 6.0]]
    """
    if window < 1 or step < 1:
        raise ConfigError(f"window and step must be positive, got window={window}, step={step}")
    recording = np.asarray(recording)
    if recording.ndim != 2:
        raise ConfigError(f"a recording must be (T, C), got shape {recording.shape}")
    count = 0 if len(recording) < window else (len(recording) - window) // step + 1
    if count == 0:
        return np.empty((0, recording.shape[1], window), dtype=recording.dtype)
    starts = np.arange(count) * step
    indices = starts[:, None] + np.arange(window)[None, :]  # (N, window)
    return np.ascontiguousarray(recording[indices].transpose(0, 2, 1))  # (N, C, window)
