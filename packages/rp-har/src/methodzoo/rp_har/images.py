"""From plots to network inputs: per-image normalisation, resizing, and 8-bit pictures.

Everything acts on ``(N, K, H, W)`` tensors, one image per sample and channel, computed from the
numbers (never through a plotting library, whose colour maps and axes would leak into the data).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from methodzoo.rp_har.config import Interpolation, Normalize
from methodzoo.shared.errors import UserError


def normalize_images(images: torch.Tensor, method: Normalize = "minmax") -> torch.Tensor:
    """Scale each ``(H, W)`` image of ``(N, K, H, W)`` on its own.

    * ``minmax``: to [0, 1]; an antisymmetric (signed) plot keeps its zero at 0.5;
    * ``lu_tong``: ÷ (max − smallest non-zero) of |R|, as Lu & Tong's code (sign kept);
    * ``maxabs``: ÷ max |R|, into [−1, 1] with zero kept at zero;
    * ``none``.
    A constant image becomes zeros.
    """
    if method == "none":
        return images
    flat = images.flatten(2)  # (N, K, H·W)
    if method == "minmax":
        low, high = torch.aminmax(flat, dim=2, keepdim=True)
        scale = high - low
        inverse = torch.where(scale > 0, 1.0 / scale.clamp_min(torch.finfo(flat.dtype).tiny),
                              torch.zeros_like(scale))
        return (flat - low).mul_(inverse).view_as(images)
    if method in ("lu_tong", "maxabs"):
        magnitude = flat.abs()
        high = magnitude.amax(dim=2, keepdim=True)
        if method == "lu_tong":
            smallest = torch.where(magnitude > 0, magnitude, torch.full_like(magnitude, float("inf")))
            smallest = smallest.amin(dim=2, keepdim=True)
            # A binary or all-zero plot has no range above its smallest non-zero value.
            scale = torch.where(torch.isfinite(smallest) & (high > smallest), high - smallest, high)
        else:
            scale = high
        inverse = torch.where(scale > 0, 1.0 / scale.clamp_min(torch.finfo(flat.dtype).tiny),
                              torch.zeros_like(scale))
        return (flat * inverse).view_as(images)
    raise UserError(f"unknown normalize {method!r}; valid: minmax, lu_tong, maxabs, none")


def resize_images(images: torch.Tensor, size: int | None, mode: Interpolation = "bilinear",
                  antialias: bool = True) -> torch.Tensor:
    """``(N, K, H, W)`` → ``(N, K, size, size)``; ``None`` or the same size returns the input."""
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images
    if mode == "nearest":
        return F.interpolate(images, size=(size, size), mode="nearest")
    if mode not in ("bilinear", "bicubic"):
        raise UserError(f"unknown interpolation {mode!r}; valid: bilinear, bicubic, nearest")
    return F.interpolate(images, size=(size, size), mode=mode, align_corners=False, antialias=antialias)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] (or [−1, 1] signed, mapped to [0, 1] first) as uint8 0 … 255."""
    values = images.detach().float()
    if bool((values < 0).any()):
        values = (values + 1) / 2
    return (values.clamp(0, 1) * 255).round().to(torch.uint8)


__all__ = ["normalize_images", "resize_images", "to_uint8"]
