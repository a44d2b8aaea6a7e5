"""MNIST and Fashion-MNIST in the idx format (plain or ``.gz``).

Expected layout under the data root (either name of each file, with or without ``.gz``)::

    mnist/train-images-idx3-ubyte   mnist/train-labels-idx1-ubyte
    mnist/t10k-images-idx3-ubyte    mnist/t10k-labels-idx1-ubyte

and the same under ``fashion-mnist/``. torchvision's ``MNIST/raw/`` layout is found too.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.types import LabeledImages
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

_DTYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_FOLDERS = {"mnist": ("mnist", "MNIST/raw"), "fashion-mnist": ("fashion-mnist", "FashionMNIST/raw")}


def read_idx(path: str | Path) -> np.ndarray:
    """Read one idx file (gzip-compressed when it starts with the gzip magic)."""
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise UserError(f"{path}: corrupt gzip data ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise UserError(f"{path} is not an idx file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UserError(f"{path}: truncated idx header")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(f"{path}: expected {expected} data bytes for shape {shape}, found {len(raw) - header}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def load_mnist(root: str | Path | None = None, split: Literal["train", "test"] = "train",
               variant: Literal["mnist", "fashion-mnist"] = "mnist") -> LabeledImages:
    """MNIST or Fashion-MNIST from idx files: uint8 images ``(N, 28, 28)``, labels ``(N,)``."""
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if variant not in _FOLDERS:
        raise ConfigError(f"variant must be one of {sorted(_FOLDERS)}, got {variant!r}")
    prefix = "train" if split == "train" else "t10k"
    base = data_root(root)
    names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    folders = [base / f for f in _FOLDERS[variant]]
    for folder in folders:
        found = [_find(folder, name) for name in names]
        if all(found):
            images = read_idx(found[0])  # type: ignore[arg-type]
            labels = read_idx(found[1])  # type: ignore[arg-type]
            if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
                raise UserError(f"{folder}: images {images.shape} and labels {labels.shape} do not match")
            return LabeledImages(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))
    raise DataNotFoundError(
        f"{variant} {split} split not found: expected {names[0]}[.gz] and {names[1]}[.gz] in "
        f"{folders[0]} (set METHODZOO_DATA or pass root=)"
    )


def _find(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None
