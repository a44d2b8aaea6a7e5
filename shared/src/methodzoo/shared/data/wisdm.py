"""WISDM v1.1 activity prediction: raw phone accelerometer text, windowed per user and activity.

Expected layout under the data root (the official ``WISDM_ar_latest.tar.gz``, extracted)::

    WISDM_ar_v1.1/WISDM_ar_v1.1_raw.txt

(or the text file directly under the root). Records read ``user,activity,timestamp,x,y,z;``
at 20 Hz, x/y/z in m/s². The file is known to break its own format: records without their
``;`` or with a trailing comma, several records on one line, empty lines, missing values. We
split on both ``;`` and newlines, strip trailing commas, and skip (with one
:class:`~methodzoo.shared.data.malformed.MalformedRecordsWarning` giving the count) any record
that still lacks six fields, has a non-numeric value or an unknown activity.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from methodzoo.shared.data.malformed import warn_skipped
from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.types import LabeledSeries
from methodzoo.shared.data.windows import sliding_windows
from methodzoo.shared.errors import DataNotFoundError, UserError

FILE_NAME = "WISDM_ar_v1.1_raw.txt"
LOCATIONS = (f"WISDM_ar_v1.1/{FILE_NAME}", FILE_NAME)
ACTIVITIES = ("Downstairs", "Jogging", "Sitting", "Standing", "Upstairs", "Walking")
CHANNELS = ("acc_x", "acc_y", "acc_z")
SAMPLE_RATE_HZ = 20


class WisdmRecords(NamedTuple):
    """The parsed rows of the raw file, in file order."""

    users: np.ndarray        # (R,) int64
    activities: np.ndarray   # (R,) int64 index into ACTIVITIES
    values: np.ndarray       # (R, 3) float32
    skipped: int


def parse_wisdm_raw(text: str) -> WisdmRecords:
    """Parse the raw text, tolerating the file's known defects (see the module docstring)."""
    position = {name: index for index, name in enumerate(ACTIVITIES)}
    users: list[int] = []
    activities: list[int] = []
    values: list[tuple[float, float, float]] = []
    skipped = 0
    for record in text.replace(";", "\n").split("\n"):
        record = record.strip().rstrip(",")
        if not record:
            continue
        fields = record.split(",")
        activity = position.get(fields[1].strip(), -1) if len(fields) == 6 else -1
        try:
            if activity < 0:
                raise ValueError(record)
            row = (float(fields[3]), float(fields[4]), float(fields[5]))
            user = int(fields[0])
        except ValueError:
            skipped += 1
            continue
        users.append(user)
        activities.append(activity)
        values.append(row)
    array = np.asarray(values, dtype=np.float32).reshape(-1, 3)
    finite = np.isfinite(array).all(axis=1)  # "nan" and "inf" parse as floats but are no reading
    return WisdmRecords(np.asarray(users, dtype=np.int64)[finite],
                        np.asarray(activities, dtype=np.int64)[finite], array[finite],
                        skipped + int((~finite).sum()))


def load_wisdm(root: str | Path | None = None, window: int = 200, step: int | None = None,
               ) -> LabeledSeries:
    """Windows of ``window`` samples (default 200 = 10 s, as in Kwapisz et al. 2010) every
    ``step`` samples (default ``window``: no overlap, so a random split cannot put two halves of
    one window on both sides), float32 ``(N, 3, window)``; ``subjects`` are the user ids.

    A window never crosses a change of user or activity: each run of consecutive records with the
    same user and activity is windowed on its own, and its tail shorter than ``window`` dropped.
    Classes: :data:`ACTIVITIES` (alphabetical).
    """
    step = window if step is None else step
    base = data_root(root)
    path = next((base / name for name in LOCATIONS if (base / name).is_file()), None)
    if path is None:
        raise DataNotFoundError(
            f"WISDM v1.1 not found: expected {LOCATIONS[0]} (or {FILE_NAME}) under {base} "
            f"(extract the official WISDM_ar_latest.tar.gz there; set METHODZOO_DATA or pass root=)"
        )
    records = parse_wisdm_raw(path.read_text(encoding="utf-8", errors="replace"))
    total = len(records.users) + records.skipped
    warn_skipped(path, records.skipped, total)
    if len(records.users) == 0:
        raise UserError(f"{path}: no valid WISDM records")
    windows, labels, subjects = [], [], []
    for start, stop in _runs(records.users, records.activities):
        cut = sliding_windows(records.values[start:stop], window, step)
        windows.append(cut)
        labels.append(np.full(len(cut), records.activities[start], dtype=np.int64))
        subjects.append(np.full(len(cut), records.users[start], dtype=np.int64))
    values = np.concatenate(windows)
    return LabeledSeries(torch.from_numpy(values), torch.from_numpy(np.concatenate(labels)),
                         ACTIVITIES, CHANNELS, torch.from_numpy(np.concatenate(subjects)))


def _runs(users: np.ndarray, activities: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each maximal run of equal (user, activity) rows."""
    changes = np.flatnonzero((np.diff(users) != 0) | (np.diff(activities) != 0)) + 1
    bounds = [0, *changes.tolist(), len(users)]
    return list(itertools.pairwise(bounds))
