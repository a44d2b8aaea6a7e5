"""Containers returned by the loaders."""

from __future__ import annotations

from typing import NamedTuple

import torch


class LabeledImages(NamedTuple):
    """Images as uint8 ``(N, H, W)`` (grey) or ``(N, C, H, W)`` and int64 labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def subset(self, indices: torch.Tensor) -> LabeledImages:
        return LabeledImages(self.images[indices], self.labels[indices])

    def as_float(self) -> torch.Tensor:
        """Images scaled to [0, 1] as float32, with a channel axis: ``(N, C, H, W)``."""
        images = self.images.float() / 255.0
        return images.unsqueeze(1) if images.ndim == 3 else images
