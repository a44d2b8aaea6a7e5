"""PNG outputs: image grids and 2-D scatter plots (kept small: PNG under a few hundred KB)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from methodzoo.shared.io import atomic_write
from methodzoo.shared.plotting import pyplot, save_figure


def image_grid(images: torch.Tensor, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 (N, C, H, W) → one uint8 (rows·(H+p)+p, cols·(W+p)+p, C) grid, row-major."""
    n, channels, height, width = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
                    dtype=np.uint8)
    for index in range(n):
        r, c = divmod(index, columns)
        top, left = padding + r * (height + padding), padding + c * (width + padding)
        grid[top:top + height, left:left + width] = images[index].permute(1, 2, 0).cpu().numpy()
    return grid


def save_image_grid(images: torch.Tensor, path: str | Path, columns: int | None = None,
                    scale: int = 1) -> Path:
    """Save uint8 (N, C, H, W) images as one PNG grid (``scale``× nearest upsampling)."""
    from PIL import Image

    grid = image_grid(images, columns)
    picture = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    return atomic_write(path, lambda temp: picture.save(temp, format="PNG"))


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
