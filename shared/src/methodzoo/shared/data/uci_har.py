"""UCI HAR (Human Activity Recognition Using Smartphones): the raw inertial signals.

Expected layout under the data root (the official zip, extracted)::

    UCI HAR Dataset/<split>/Inertial Signals/body_acc_{x,y,z}_<split>.txt
    UCI HAR Dataset/<split>/Inertial Signals/body_gyro_{x,y,z}_<split>.txt
    UCI HAR Dataset/<split>/Inertial Signals/total_acc_{x,y,z}_<split>.txt
    UCI HAR Dataset/<split>/y_<split>.txt         (activity 1..6, one per line)
    UCI HAR Dataset/<split>/subject_<split>.txt   (volunteer 1..30, one per line)

Each signal file holds one 2.56 s window (128 samples at 50 Hz) per line. The 561 engineered
features (``X_<split>.txt``) are not read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import torch

from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.types import LabeledSeries
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

FOLDER = "UCI HAR Dataset"
WINDOW = 128
SIGNALS = ("body_acc", "body_gyro", "total_acc")
CHANNELS = tuple(f"{signal}_{axis}" for signal in SIGNALS for axis in "xyz")
# activity_labels.txt of the dataset: label k + 1 in the files is ACTIVITIES[k].
ACTIVITIES = ("WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING")


def uci_har_files(split: str) -> list[str]:
    """The files a split needs, relative to the data root."""
    signals = [f"{FOLDER}/{split}/Inertial Signals/{channel}_{split}.txt" for channel in CHANNELS]
    return [*signals, f"{FOLDER}/{split}/y_{split}.txt", f"{FOLDER}/{split}/subject_{split}.txt"]


def load_uci_har(root: str | Path | None = None,
                 split: Literal["train", "test"] = "train") -> LabeledSeries:
    """The 9 inertial channels as float32 ``(N, 9, 128)``, activities 0..5, subjects 1..30.

    Channels: body acceleration, body angular velocity and total acceleration, each x, y, z
    (:data:`CHANNELS`); classes in the dataset's order (:data:`ACTIVITIES`).
    """
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    base = data_root(root)
    files = uci_har_files(split)
    missing = [name for name in files if not (base / name).is_file()]
    if missing:
        listing = "\n  ".join(files)
        raise DataNotFoundError(
            f"UCI HAR {split} split not found under {base}: missing {len(missing)} of these files\n  "
            f"{listing}\n(extract the official 'UCI HAR Dataset.zip' there; set METHODZOO_DATA "
            f"or pass root=)"
        )
    channels = [_read_matrix(base / name) for name in files[:len(CHANNELS)]]
    labels = _read_column(base / files[-2])
    subjects = _read_column(base / files[-1])
    count = len(labels)
    for name, channel in zip(files[:len(CHANNELS)], channels, strict=True):
        if channel.shape != (count, WINDOW):
            raise UserError(f"{base / name}: expected {count} rows of {WINDOW} values, "
                            f"got shape {channel.shape}")
    if len(subjects) != count:
        raise UserError(f"{base / files[-1]}: {len(subjects)} subjects for {count} windows")
    if count and (labels.min() < 1 or labels.max() > len(ACTIVITIES)):
        raise UserError(f"{base / files[-2]}: activities must be 1..{len(ACTIVITIES)}, "
                        f"found {labels.min()}..{labels.max()}")
    values = np.stack(channels, axis=1)  # (N, 9, 128)
    return LabeledSeries(torch.from_numpy(values), torch.from_numpy(labels - 1), ACTIVITIES, CHANNELS,
                         torch.from_numpy(subjects))


def _read_matrix(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, dtype=np.float32, ndmin=2)
    except ValueError as error:
        raise UserError(f"{path}: not a whitespace-separated table of numbers ({error})") from None


def _read_column(path: Path) -> np.ndarray:
    try:
        return np.loadtxt(path, dtype=np.int64, ndmin=1)
    except ValueError as error:
        raise UserError(f"{path}: expected one integer per line ({error})") from None
