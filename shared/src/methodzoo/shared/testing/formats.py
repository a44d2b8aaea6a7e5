"""Writers for the standard on-disk dataset formats, so tests can make tiny real files."""

from __future__ import annotations

import gzip
import pickle
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

_IDX_TYPES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B,
              np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` in the idx format of MNIST (gzip when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.asarray(array)
    dtype = array.dtype if array.dtype in (np.uint8, np.int8) else array.dtype.newbyteorder(">")
    code = _IDX_TYPES[np.dtype(dtype)]
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(dtype).tobytes()
    use_gzip = path.suffix == ".gz" if compress is None else compress
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(payload) if use_gzip else payload)
    return path


def write_cifar_batches(folder: str | Path, batches: Sequence[tuple[str, np.ndarray, np.ndarray]],
                        *, label_key: str = "labels") -> Path:
    """Write CIFAR "python version" batch files: each a pickled dict with ``data`` (N, 3072)
    uint8 rows in channel-major order and a list of labels under ``label_key``
    (``labels`` for CIFAR-10, ``fine_labels`` for CIFAR-100)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, images, labels in batches:
        record = {b"data": np.asarray(images, dtype=np.uint8).reshape(len(images), -1),
                  label_key.encode(): [int(v) for v in labels],
                  b"batch_label": name.encode()}
        with open(folder / name, "wb") as handle:
            pickle.dump(record, handle, protocol=2)
    return folder


def write_png_folder(folder: str | Path, images: Sequence[np.ndarray], *, prefix: str = "image") -> list[Path]:
    """Write HWC uint8 arrays as PNG files ``prefix-00.png``, ``prefix-01.png``, …"""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, image in enumerate(images):
        path = folder / f"{prefix}-{index:02d}.png"
        Image.fromarray(np.asarray(image, dtype=np.uint8)).save(path)
        paths.append(path)
    return paths
