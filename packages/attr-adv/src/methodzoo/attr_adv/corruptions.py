"""The common corruptions of ``imagecorruptions`` (the CIFAR-10-C / ImageNet-C code) on any image size.

imagecorruptions works on uint8 H×W×3 images of at least 32×32. Smaller (digit) images are
zero-padded to 32×32 first and cropped back after; grey images are repeated over three channels
and averaged back. Three corruptions fail with current NumPy / scikit-image and are skipped
(:data:`BROKEN`). The corruptions draw from NumPy's global generator, so each call seeds it and
restores its state after.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch

from methodzoo.shared.errors import ConfigError, missing_extra

MIN_SIZE = 32
BROKEN: dict[str, str] = {
    "glass_blur": "calls skimage.filters.gaussian(multichannel=...), removed in scikit-image 0.19",
    "gaussian_blur": "calls skimage.filters.gaussian(multichannel=...), removed in scikit-image 0.19",
    "fog": "uses np.float_, removed in NumPy 2.0",
}


def _library() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its pkg_resources import warns on every import
            import imagecorruptions
    except ImportError:
        raise missing_extra("imagecorruptions", "methodzoo-attr-adv", "bench") from None
    return imagecorruptions


def corruption_names(subset: str = "common") -> list[str]:
    """imagecorruptions' names (``common``: 15, ``validation``: 4, ``all``: 19) that work here."""
    if subset not in ("common", "validation", "all"):
        raise ConfigError(f"subset must be common, validation or all, got {subset!r}")
    return [n for n in _library().get_corruption_names(subset) if n not in BROKEN]


def corrupt_images(images: torch.Tensor, corruption: str, severity: int, seed: int = 0) -> torch.Tensor:
    """Corrupt float images ``(N, C, H, W)`` in [0, 1] (C = 1 or 3) at severity 1–5; same shape back."""
    library = _library()
    valid = library.get_corruption_names("all")
    if corruption not in valid:
        raise ConfigError(f"unknown corruption {corruption!r}; valid: {', '.join(valid)}")
    if corruption in BROKEN:
        raise ConfigError(f"corruption {corruption!r} does not run here: {BROKEN[corruption]}")
    if not 1 <= severity <= 5:
        raise ConfigError(f"severity must be in 1..5, got {severity}")
    _, channels, height, width = images.shape
    pad_y, pad_x = max(0, MIN_SIZE - height), max(0, MIN_SIZE - width)
    top, left = pad_y // 2, pad_x // 2
    array = (images.detach().cpu().clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    array = np.pad(array, ((0, 0), (0, 0), (top, pad_y - top), (left, pad_x - left)))
    array = array.transpose(0, 2, 3, 1)  # (N, H', W', C)
    if channels == 1:
        array = np.repeat(array, 3, axis=3)
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.stack([np.asarray(library.corrupt(image, severity=severity, corruption_name=corruption))
                            for image in array])
    finally:
        np.random.set_state(state)
    out = out[:, top:top + height, left:left + width, :].astype(np.float32) / 255.0
    if channels == 1:
        out = out.mean(axis=3, keepdims=True)
    return torch.from_numpy(np.ascontiguousarray(out.transpose(0, 3, 1, 2))).to(images.dtype)


__all__ = ["BROKEN", "corrupt_images", "corruption_names"]
