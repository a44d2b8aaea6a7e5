"""Accuracy against shift magnitude, one panel per attribute, the training range shaded."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

from methodzoo.attr_adv.evaluation import GridResult
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.attr_adv.transforms import UNITS
from methodzoo.shared.plotting import pyplot, save_figure


def plot_accuracy_vs_shift(results: Mapping[str, Sequence[GridResult]], space: AttributeSpace, path: str | Path,
                           title: str = "") -> Path:
    """``results``: per method, one :class:`GridResult` per seed (mean line, ±1 std band).

    Magnitude 0 is the clean test set; both directions of a magnitude are averaged. The grey band
    is the training range of the attribute (the smaller of its two sides' reach).
    """
    plt = pyplot()
    attributes = list(next(iter(results.values()))[0].by_magnitude())
    columns = min(4, len(attributes))
    rows = -(-len(attributes) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.4 * columns, 3.0 * rows), squeeze=False)
    ranges = {a.name: a for a in space.attributes}
    for index, attribute in enumerate(attributes):
        axis = axes[index // columns][index % columns]
        for method, seeds in results.items():
            curves = [seed.by_magnitude()[attribute] for seed in seeds]
            magnitudes = [m for m, _, _ in curves[0]]
            values = [[curve[i][1] for curve in curves] for i in range(len(magnitudes))]
            mean = [statistics.fmean(v) for v in values]
            spread = [statistics.stdev(v) if len(v) > 1 else 0.0 for v in values]
            line = axis.plot(magnitudes, mean, "o-", markersize=3, label=method)[0]
            axis.fill_between(magnitudes, [m - s for m, s in zip(mean, spread, strict=True)],
                              [m + s for m, s in zip(mean, spread, strict=True)], color=line.get_color(), alpha=0.15)
        if attribute in ranges:
            trained = ranges[attribute]
            reach = min(trained.high - trained.neutral, trained.neutral - trained.low)
            reach = reach if reach > 0 else max(trained.high - trained.neutral, trained.neutral - trained.low)
            axis.axvspan(0, reach, color="grey", alpha=0.15, lw=0)
        axis.set_title(attribute, fontsize=10)
        axis.set_xlabel(f"|shift| ({UNITS[attribute]})", fontsize=8)
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
        if index == 0:
            axis.set_ylabel("test accuracy")
            axis.legend(fontsize=7)
    for index in range(len(attributes), rows * columns):
        axes[index // columns][index % columns].set_visible(False)
    if title:
        figure.suptitle(title, fontsize=10)
    return save_figure(figure, path)


__all__ = ["plot_accuracy_vs_shift"]
