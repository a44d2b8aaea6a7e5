"""CIFAR-10 and CIFAR-100, "python version" batches, read without executing pickled code.

The official files are pickles. A pickle can run arbitrary code, so we unpickle with a loader
that only builds plain containers, bytes and NumPy arrays, and refuses anything else.

Expected layout under the data root::

    cifar-10-batches-py/data_batch_1 … data_batch_5, test_batch
    cifar-100-python/train, test
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.types import LabeledImages
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", {"train": [f"data_batch_{i}" for i in range(1, 6)],
                                        "test": ["test_batch"]}, b"labels"),
    "cifar100": ("cifar-100-python", {"train": ["train"], "test": ["test"]}, b"fine_labels"),
}
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")


def read_cifar_batch(path: str | Path) -> dict[bytes, Any]:
    """One batch file as a dict (keys are bytes, as in the official files)."""
    try:
        record = _SafeUnpickler(io.BytesIO(Path(path).read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as error:
        raise UserError(f"{path} is not a CIFAR python batch: {error}") from None
    if not isinstance(record, dict) or b"data" not in record:
        raise UserError(f"{path} is not a CIFAR python batch (no 'data' entry)")
    return {k.encode() if isinstance(k, str) else k: v for k, v in record.items()}


def load_cifar(root: str | Path | None = None, split: Literal["train", "test"] = "train",
               variant: Literal["cifar10", "cifar100"] = "cifar10") -> LabeledImages:
    """CIFAR images as uint8 ``(N, 3, 32, 32)`` with int64 labels (fine labels for CIFAR-100)."""
    if variant not in _LAYOUT:
        raise ConfigError(f"variant must be one of {sorted(_LAYOUT)}, got {variant!r}")
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    folder_name, files, label_key = _LAYOUT[variant]
    folder = data_root(root) / folder_name
    missing = [name for name in files[split] if not (folder / name).is_file()]
    if missing:
        raise DataNotFoundError(
            f"{variant} {split} split not found: expected {', '.join(files[split])} in {folder} "
            f"(the 'python version' archive, extracted; set METHODZOO_DATA or pass root=)"
        )
    images, labels = [], []
    for name in files[split]:
        record = read_cifar_batch(folder / name)
        data = np.asarray(record[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise UserError(f"{folder / name}: expected rows of 3072 bytes, got shape {data.shape}")
        if label_key not in record:
            raise UserError(f"{folder / name}: no {label_key.decode()!r} entry")
        images.append(data.reshape(-1, 3, 32, 32))  # rows are channel-major: (N, C, H, W)
        labels.append(np.asarray(record[label_key], dtype=np.int64))
    return LabeledImages(torch.from_numpy(np.concatenate(images)), torch.from_numpy(np.concatenate(labels)))
