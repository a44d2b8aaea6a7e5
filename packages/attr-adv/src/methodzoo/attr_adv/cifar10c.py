"""CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019) in its standard ``.npy`` layout.

Expected files, in ``<root>/CIFAR-10-C/`` or in ``<root>`` itself::

    labels.npy           (50000,)            the 10,000 test labels, repeated for each severity
    <corruption>.npy     (50000, 32, 32, 3)  uint8: severity 1 in rows 0–9,999, …, severity 5 last

(the archive ``CIFAR-10-C.tar`` from Zenodo record 2535967, extracted). Any number of rows that
is a multiple of 5 is accepted (the tests write tiny files); severity s is block s of 5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from methodzoo.shared.data import LabeledImages, data_root
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

CIFAR10C_CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
    "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate", "jpeg_compression",
    # the four "extra" corruptions of the release
    "speckle_noise", "gaussian_blur", "spatter", "saturate",
)
SEVERITIES = 5
FOLDER = "CIFAR-10-C"


def cifar10c_folder(root: str | Path | None = None) -> Path:
    """The folder holding ``labels.npy``: ``root`` itself or ``root/CIFAR-10-C``."""
    base = data_root(root)
    for candidate in (base, base / FOLDER):
        if (candidate / "labels.npy").is_file():
            return candidate
    raise DataNotFoundError(
        f"CIFAR-10-C not found: expected labels.npy and <corruption>.npy (e.g. gaussian_noise.npy) in "
        f"{base / FOLDER} or {base} (extract CIFAR-10-C.tar there; set METHODZOO_DATA or pass root=)")


def available_corruptions(root: str | Path | None = None) -> list[str]:
    """The corruptions whose ``.npy`` file is present, in the release's order (an error if none)."""
    folder = cifar10c_folder(root)
    present = [name for name in CIFAR10C_CORRUPTIONS if (folder / f"{name}.npy").is_file()]
    if not present:
        raise DataNotFoundError(f"no <corruption>.npy next to {folder / 'labels.npy'} "
                                f"(expected e.g. {', '.join(CIFAR10C_CORRUPTIONS[:3])}.npy)")
    return present


def load_cifar10c(corruption: str, severity: int, root: str | Path | None = None) -> LabeledImages:
    """The test images of one corruption at one severity (1–5): uint8 ``(n, 3, 32, 32)``, labels ``(n,)``."""
    if corruption not in CIFAR10C_CORRUPTIONS:
        raise ConfigError(f"unknown CIFAR-10-C corruption {corruption!r}; valid: {', '.join(CIFAR10C_CORRUPTIONS)}")
    if not 1 <= severity <= SEVERITIES:
        raise ConfigError(f"severity must be in 1..{SEVERITIES}, got {severity}")
    folder = cifar10c_folder(root)
    path = folder / f"{corruption}.npy"
    if not path.is_file():
        raise DataNotFoundError(f"{path} not found (CIFAR-10-C has one <corruption>.npy per corruption next to "
                                "labels.npy)")
    images, labels = _read(path), _read(folder / "labels.npy")
    if images.ndim != 4 or images.shape[1:] != (32, 32, 3) or images.dtype != np.uint8:
        raise UserError(f"{path}: expected uint8 images (N, 32, 32, 3), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise UserError(f"{folder / 'labels.npy'}: expected {len(images)} labels, got shape {labels.shape}")
    if len(images) % SEVERITIES:
        raise UserError(f"{path}: {len(images)} rows is not {SEVERITIES} equal severity blocks")
    block = len(images) // SEVERITIES
    rows = slice((severity - 1) * block, severity * block)
    chosen = np.array(images[rows].transpose(0, 3, 1, 2), order="C")  # (n, H, W, C) → (n, C, H, W), a copy
    return LabeledImages(torch.from_numpy(chosen), torch.from_numpy(np.array(labels[rows], dtype=np.int64)))


def _read(path: Path) -> np.ndarray:
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        raise UserError(f"{path} is not a plain .npy array: {error}") from None


__all__ = ["CIFAR10C_CORRUPTIONS", "available_corruptions", "cifar10c_folder", "load_cifar10c"]
