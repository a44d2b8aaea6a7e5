"""Pictures: matplotlib on a headless machine (the Agg backend, one way to save figures) and
image grids written as PNG without matplotlib."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np


def pyplot() -> Any:
    """``matplotlib.pyplot`` with the non-interactive Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure: Any, path: str | Path, *, dpi: int = 120) -> Path:
    """Save ``figure`` as PNG (atomically) and close it."""
    from methodzoo.shared.io import atomic_write

    target = Path(path)
    figure.tight_layout()
    atomic_write(target, lambda temp: figure.savefig(temp, dpi=dpi, format="png"))
    pyplot().close(figure)
    return target


def image_grid(images: Any, columns: int | None = None, padding: int = 2) -> np.ndarray:
    """uint8 images ``(N, C, H, W)`` (tensor or array) → one uint8 ``(rows·(H+p)+p,
    cols·(W+p)+p, C)`` grid, row-major, ``p`` pixels of black between and around them."""
    array = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images)
    if array.ndim != 4 or array.dtype != np.uint8:
        raise ValueError(f"image_grid needs uint8 (N, C, H, W) images, got {array.dtype} {array.shape}")
    n, channels, height, width = array.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * (height + padding) + padding, columns * (width + padding) + padding, channels),
                    dtype=np.uint8)
    for index in range(n):
        row, column = divmod(index, columns)
        top, left = padding + row * (height + padding), padding + column * (width + padding)
        grid[top:top + height, left:left + width] = array[index].transpose(1, 2, 0)
    return grid


def save_image_grid(images: Any, path: str | Path, columns: int | None = None, scale: int = 1) -> Path:
    """Save uint8 ``(N, C, H, W)`` images as one PNG grid (``scale``× nearest upsampling), atomically."""
    from PIL import Image

    from methodzoo.shared.io import atomic_write

    grid = image_grid(images, columns)
    picture = Image.fromarray(grid[:, :, 0] if grid.shape[2] == 1 else grid)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    return atomic_write(path, lambda temp: picture.save(temp, format="PNG"))
