"""The labelled time-series container (the core's :class:`LabeledSeries`) and channel selection."""

from __future__ import annotations

from methodzoo.shared.data.types import LabeledSeries
from methodzoo.shared.errors import ConfigError


def select_channels(data: LabeledSeries, channels: tuple[int, ...]) -> LabeledSeries:
    """Keep the listed channels (all when empty), with a clear error for a bad index."""
    if not channels:
        return data
    count = data.values.shape[1]
    bad = [c for c in channels if not 0 <= c < count]
    if bad:
        names = ", ".join(f"{i}={n}" for i, n in enumerate(data.channel_names))
        raise ConfigError(f"channel index {bad} out of range; this data set has channels {names}")
    index = list(channels)
    return LabeledSeries(data.values[:, index], data.labels, data.class_names,
                         tuple(data.channel_names[i] for i in index), data.subjects)


__all__ = ["LabeledSeries", "select_channels"]
