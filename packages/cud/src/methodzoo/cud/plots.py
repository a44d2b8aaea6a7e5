"""2-D scatter plots of samples as PNG (kept small: under a few hundred KB); image grids are the core's
(:func:`methodzoo.shared.plotting.save_image_grid`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch

from methodzoo.shared.plotting import pyplot, save_figure


def save_scatter_grid(panels: Sequence[tuple[str, torch.Tensor]], path: str | Path, columns: int = 5,
                      limit: float = 3.0) -> Path:
    """Scatter plots of 2-D samples, one titled panel each."""
    plt = pyplot()
    rows = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(2.2 * columns, 2.2 * rows), squeeze=False)
    for axis in axes.flat:
        axis.set_axis_off()
    for axis, (title, points) in zip(axes.flat, panels, strict=False):
        xy = points.detach().cpu().numpy()
        axis.scatter(xy[:, 0], xy[:, 1], s=1, alpha=0.4, rasterized=True)
        axis.set_xlim(-limit, limit)
        axis.set_ylim(-limit, limit)
        axis.set_aspect("equal")
        axis.set_title(title, fontsize=8)
        axis.set_axis_on()
        axis.set_xticks([])
        axis.set_yticks([])
    return save_figure(figure, path, dpi=90)
