"""HMP: the UCI "Dataset for ADL Recognition with Wrist-worn Accelerometer" (Bruno et al.).

Expected layout under the data root (the official ``HMP_Dataset.zip``, extracted)::

    HMP_Dataset/<Activity>/Accelerometer-<date>-<time>-<activity>-<volunteer>.txt

one folder per activity (``Brush_teeth``, ``Climb_stairs``, … ``Walk``: 14 in all), one file per
recording with a line ``x y z`` per sample at 32 Hz, each an integer code 0..63 that maps to
−1.5 g … +1.5 g: ``a = −1.5 g + (code / 63) · 3 g``. Folders whose name ends in ``_MODEL`` are
skipped: they hold the trials the dataset's authors used to build their models, which we take to
repeat recordings of the plain folders (UNVERIFIED against the full archive).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from methodzoo.shared.data.labels import encode_labels, sorted_names
from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.types import LabeledSeries
from methodzoo.shared.data.windows import sliding_windows
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

FOLDER = "HMP_Dataset"
CHANNELS = ("acc_x", "acc_y", "acc_z")
SAMPLE_RATE_HZ = 32
STANDARD_GRAVITY = 9.80665  # m/s²
CODE_MAX = 63


def decode_acceleration(codes: np.ndarray) -> np.ndarray:
    """The dataset's 6-bit codes as m/s²: ``−1.5 g + (code / 63) · 3 g``.

    >>> decode_acceleration(np.array([0, 63])).round(3).tolist()
    [-14.71, 14.71]
    """
    return (-1.5 + np.asarray(codes, dtype=np.float64) / CODE_MAX * 3.0) * STANDARD_GRAVITY


def read_hmp_recording(path: str | Path) -> np.ndarray:
    """One recording as float32 m/s² ``(T, 3)``; a clear error when it is not ``x y z`` codes."""
    path = Path(path)
    try:
        codes = np.loadtxt(path, dtype=np.int64, ndmin=2)
    except ValueError as error:
        raise UserError(f"{path}: expected lines of three integers 'x y z' ({error})") from None
    if codes.size and (codes.shape[1] != 3 or codes.min() < 0 or codes.max() > CODE_MAX):
        raise UserError(f"{path}: expected three codes in 0..{CODE_MAX} per line, got shape "
                        f"{codes.shape} with values {codes.min()}..{codes.max()}")
    return decode_acceleration(codes.reshape(-1, 3)).astype(np.float32)


def volunteer_of(path: Path) -> str:
    """The volunteer code (``f1``, ``m3``, …) that ends an HMP file name."""
    return path.stem.rsplit("-", 1)[-1]


def load_hmp(root: str | Path | None = None, window: int = 150, step: int | None = None,
             activities: Sequence[str] | None = None) -> LabeledSeries:
    """Windows of ``window`` samples (default 150 ≈ 4.7 s, as in Lu & Tong 2019) every ``step``
    samples (default ``window``: no overlap), float32 m/s² ``(N, 3, window)``.

    ``activities`` selects folders (default: every activity folder found); classes are the
    selected folder names in natural sorted order. ``subjects`` number the volunteer codes at the
    end of the file names (``f1``, ``m1``, …) in natural sorted order. Recordings shorter than
    ``window`` give no window.
    """
    step = window if step is None else step
    folder = data_root(root) / FOLDER
    found = sorted_names(p.name for p in folder.iterdir()
                         if p.is_dir() and not p.name.endswith("_MODEL")) if folder.is_dir() else ()
    if not found:
        raise DataNotFoundError(
            f"HMP not found: expected {folder}/<Activity>/Accelerometer-*.txt (one folder per "
            f"activity, e.g. Brush_teeth, Walk; extract the official HMP_Dataset.zip under "
            f"{folder.parent}; set METHODZOO_DATA or pass root=)"
        )
    chosen = found if activities is None else sorted_names(activities)
    unknown = [name for name in chosen if name not in found]
    if unknown:
        raise ConfigError(f"unknown HMP activit{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                          f"found: {', '.join(found)}")
    files = [(activity, path) for activity in chosen
             for path in sorted((folder / activity).glob("Accelerometer-*.txt"))]
    if not files:
        raise DataNotFoundError(f"no Accelerometer-*.txt files in {folder}/{{{','.join(chosen)}}}")
    volunteers = sorted_names(volunteer_of(path) for _, path in files)
    windows, names, subjects = [], [], []
    for activity, path in files:
        cut = sliding_windows(read_hmp_recording(path), window, step)
        windows.append(cut)
        names += [activity] * len(cut)
        subjects += [volunteers.index(volunteer_of(path))] * len(cut)
    values = np.concatenate(windows)
    if len(values) == 0:
        raise UserError(f"every HMP recording in {folder} is shorter than window={window}")
    labels, classes = encode_labels(names, chosen)
    return LabeledSeries(torch.from_numpy(values), labels, classes, CHANNELS,
                         torch.tensor(subjects, dtype=torch.int64))
