"""The labelled time-series container: the core's :class:`LabeledSeries` where this core has it.

Until the core's time-series module reaches this workspace, an identical local definition
stands in (same fields, same ``subset``), so code written against either works with both.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from methodzoo.shared.errors import ConfigError

try:
    from methodzoo.shared.data.types import LabeledSeries
except ImportError:  # a core without time series: the same container, defined here

    class LabeledSeries(NamedTuple):  # type: ignore[no-redef]
        """Multichannel series ``values`` float32 ``(N, C, T)`` with int64 ``labels`` ``(N,)``,
        the names of classes and channels, and optional int64 ``subjects`` ``(N,)``."""

        values: torch.Tensor
        labels: torch.Tensor
        class_names: tuple[str, ...]
        channel_names: tuple[str, ...]
        subjects: torch.Tensor | None = None

        def __len__(self) -> int:
            return int(self.labels.shape[0])

        def subset(self, indices: torch.Tensor) -> LabeledSeries:
            subjects = None if self.subjects is None else self.subjects[indices]
            return LabeledSeries(self.values[indices], self.labels[indices], self.class_names,
                                 self.channel_names, subjects)


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
