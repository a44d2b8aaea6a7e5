"""Lu & Tong's image augmentation, batched: a random resized crop and a horizontal flip.

They trained with torchvision's ``RandomSizedCrop(224)`` and ``RandomHorizontalFlip``. On a
recurrence plot a crop keeps a random stretch of time pairs and a flip reverses one time axis;
on a signed (trend-aware) plot both scramble the very direction the encoding exists to show,
so :meth:`TrainConfig.augmentation_for` switches them off there by default.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from methodzoo.shared.errors import ConfigError


def random_resized_crop_flip(images: torch.Tensor, generator: torch.Generator, *,
                             scale: tuple[float, float] = (0.08, 1.0),
                             ratio: tuple[float, float] = (3 / 4, 4 / 3),
                             flip_probability: float = 0.5) -> torch.Tensor:
    """Per image: a crop of ``scale`` of its area and aspect ``ratio`` (log-uniform), resized
    back to the input size (bilinear), then flipped left–right with ``flip_probability``.
    ``(B, K, H, W)`` → same shape. Random numbers come from the CPU ``generator``."""
    if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
        raise ConfigError(f"bad crop scale {scale} or ratio {ratio}")
    count = images.shape[0]
    area = torch.empty(count).uniform_(scale[0], scale[1], generator=generator)
    log_ratio = torch.empty(count).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=generator)
    aspect = log_ratio.exp()
    # Crop width and height as fractions of the image, clipped to fit (torchvision retries instead).
    width = (area * aspect).sqrt().clamp(max=1.0)
    height = (area / aspect).sqrt().clamp(max=1.0)
    centre_x = (torch.rand(count, generator=generator) * 2 - 1) * (1 - width)
    centre_y = (torch.rand(count, generator=generator) * 2 - 1) * (1 - height)
    flip = torch.where(torch.rand(count, generator=generator) < flip_probability, -1.0, 1.0)
    theta = torch.zeros(count, 2, 3)
    theta[:, 0, 0] = width * flip
    theta[:, 0, 2] = centre_x
    theta[:, 1, 1] = height
    theta[:, 1, 2] = centre_y
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


__all__ = ["random_resized_crop_flip"]
