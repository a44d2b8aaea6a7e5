"""A PNG grid of encodings per class: one row per class, a few windows per row, each window's
channels shown three at a time as RGB (one axis per colour), straight from the numbers."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from methodzoo.rp_har.images import to_uint8
from methodzoo.shared.errors import UserError


def channel_tiles(images: torch.Tensor) -> torch.Tensor:
    """``(N, K, S, S)`` → uint8 ``(N·G, 3, S, S)``, G = ⌈K/3⌉ RGB tiles per image (one channel
    is shown in grey; a last group of fewer than three is padded with black)."""
    count, channels, height, width = images.shape
    pixels = to_uint8(images)
    if channels == 1:
        return pixels.repeat(1, 3, 1, 1)
    groups = math.ceil(channels / 3)
    padded = torch.zeros(count, groups * 3, height, width, dtype=torch.uint8)
    padded[:, :channels] = pixels
    return padded.view(count * groups, 3, height, width)  # (N·G, 3, S, S)


def per_class_examples(labels: torch.Tensor, per_class: int, num_classes: int) -> torch.Tensor:
    """Indices of the first ``per_class`` windows of each class, class by class."""
    chosen = []
    for label in range(num_classes):
        members = torch.nonzero(labels == label).reshape(-1)[:per_class]
        if len(members) < per_class:
            raise UserError(f"class {label} has {len(members)} windows, fewer than per_class={per_class}")
        chosen.append(members)
    return torch.cat(chosen)


def save_encoding_grid(images: torch.Tensor, labels: torch.Tensor, path: str | Path, *, per_class: int = 4,
                       num_classes: int | None = None, scale: int = 1) -> Path:
    """Write the grid: row c holds ``per_class`` windows of class c, each as its RGB tiles."""
    from methodzoo.shared.plotting import save_image_grid

    classes = int(labels.max()) + 1 if num_classes is None else num_classes
    index = per_class_examples(labels, per_class, classes)
    tiles = channel_tiles(images[index].cpu())
    groups = tiles.shape[0] // len(index)
    return save_image_grid(tiles, path, columns=per_class * groups, scale=scale)


__all__ = ["channel_tiles", "per_class_examples", "save_encoding_grid"]
