"""Curves over epochs: d_util, d_speed, test accuracy of ŷ and of ŷ0, one line per method (mean over seeds,
shaded between the lowest and highest seed)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from methodzoo.shared.plotting import pyplot, save_figure

PANELS = (("d_util", "d_util (test)"), ("d_speed", "d_speed"), ("acc", "test accuracy of ŷ"),
          ("acc_branch0", "test accuracy of ŷ0 (m0 branch)"))


def curve(history: Sequence[Mapping[str, Any]], key: str, evaluation: str = "test") -> list[float]:
    """One run's per-epoch values of ``key`` (``d_util``, ``d_speed``, ``acc`` or ``acc_branch0``) from its epoch logs
    (dicts as :meth:`EpochLog.to_dict` gives); NaN where not measured."""
    values = []
    for log in history:
        if key == "d_util":
            value = (log.get("utilization") or {}).get("d_util")
        elif key.startswith("acc"):
            value = log["evaluation"].get(evaluation, {}).get(key)
        else:
            value = log.get(key)
        values.append(math.nan if value is None else float(value))
    return values


def plot_training_curves(runs: Mapping[str, Sequence[Sequence[Mapping[str, Any]]]], path: str | Path, *,
                         title: str = "", evaluation: str = "test") -> Path:
    """``runs`` maps a method name to its runs (one per seed), each a list of epoch-log dicts."""
    plt = pyplot()
    figure, axes = plt.subplots(1, len(PANELS), figsize=(16, 3.6))
    for axis, (key, label) in zip(axes, PANELS, strict=True):
        for method, histories in runs.items():
            length = max(len(h) for h in histories)
            table = np.full((len(histories), length), np.nan)
            for row, history in enumerate(histories):
                table[row, :len(history)] = curve(history, key, evaluation)
            epochs = np.arange(1, length + 1)
            valid = ~np.all(np.isnan(table), axis=0)
            if not valid.any():
                continue
            mean = np.nanmean(table[:, valid], axis=0)
            axis.plot(epochs[valid], mean, marker="o", markersize=3, label=method)
            if len(histories) > 1:
                axis.fill_between(epochs[valid], np.nanmin(table[:, valid], axis=0),
                                  np.nanmax(table[:, valid], axis=0), alpha=0.2)
        axis.set_xlabel("epoch")
        axis.set_title(label, fontsize=10)
        if not key.startswith("acc"):
            axis.axhline(0.0, color="grey", linewidth=0.6)
        axis.legend(fontsize=8)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path, dpi=90)
