"""The data sets rp-har trains on, by name, and the splits used for model selection.

* ``trend-pairs``: the seeded synthetic trend-mirrored activities (:mod:`.synthetic`), split by
  subject (subjects 0–7 train, 8–11 test);
* ``basic-motions``, ``pickup-gesture``: offline, bundled with aeon (official train/test);
* ``uci-har`` (official split), ``wisdm``, ``hmp``: standard files in a local folder
  (``--data-root`` or ``$METHODZOO_DATA``); WISDM and HMP have no official split, so a quarter
  of their subjects (seeded) form the test split.

The readers are the core's (``methodzoo.shared.data.timeseries`` and friends). A validation
split for model selection is cut from the training split only: whole subjects when subject
ids exist, else stratified by class.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from methodzoo.rp_har.containers import LabeledSeries, select_channels
from methodzoo.rp_har.synthetic import trend_mirrored
from methodzoo.shared.data.splits import group_split, stratified_split
from methodzoo.shared.errors import ConfigError, UserError, missing_extra

Split = Literal["train", "test"]
TREND_TRAIN_SUBJECTS = range(0, 8)
TREND_TEST_SUBJECTS = range(8, 12)
SUBJECT_TEST_FRACTION = 0.25


def _core(module: str, function: str) -> Callable[..., Any]:
    """A loader of the core's time-series readers, with a clear error on a core without them."""
    try:
        return getattr(importlib.import_module(f"methodzoo.shared.data.{module}"), function)
    except (ImportError, AttributeError):
        raise UserError(f"this methodzoo-shared has no methodzoo.shared.data.{module}.{function}; "
                        "update methodzoo-shared to a version with the time-series readers") from None


def _basic_motions(split: Split) -> LabeledSeries:
    try:
        return _core("timeseries", "basic_motions")(split)  # type: ignore[no-any-return]
    except UserError as error:
        if "no methodzoo.shared.data.timeseries" not in str(error):
            raise
    # A core without time series: read aeon's bundled copy directly (same classes, same order).
    try:
        from aeon.datasets import load_basic_motions
    except ImportError:
        raise missing_extra("aeon", "methodzoo-shared", "timeseries") from None
    values, names = load_basic_motions(split=split)
    classes = tuple(sorted({str(n) for n in names}))
    labels = torch.tensor([classes.index(str(n)) for n in names], dtype=torch.int64)
    return LabeledSeries(torch.from_numpy(np.asarray(values, dtype=np.float32)), labels, classes,
                         ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"))


def _split_by_subject(data: LabeledSeries, split: Split, seed: int) -> LabeledSeries:
    """A seeded subject-wise train/test split of a data set without an official one."""
    if data.subjects is None:
        raise UserError("this data set has no subject ids to split by")
    test, train = group_split(data.subjects, [SUBJECT_TEST_FRACTION], generator=seed)
    return data.subset(train if split == "train" else test)


def _load(name: str, split: Split, root: str | Path | None, seed: int) -> LabeledSeries:
    if name == "trend-pairs":
        subjects = TREND_TRAIN_SUBJECTS if split == "train" else TREND_TEST_SUBJECTS
        return trend_mirrored(subjects=subjects, seed=seed)
    if name == "basic-motions":
        return _basic_motions(split)
    if name == "pickup-gesture":
        return _core("timeseries", "pickup_gesture")(split)  # type: ignore[no-any-return]
    if name == "uci-har":
        return _core("uci_har", "load_uci_har")(root, split)  # type: ignore[no-any-return]
    if name == "wisdm":
        return _split_by_subject(_core("wisdm", "load_wisdm")(root), split, seed)
    if name == "hmp":
        return _split_by_subject(_core("hmp", "load_hmp")(root), split, seed)
    raise ConfigError(f"unknown data set {name!r}; valid: {', '.join(DATASETS)}")


DATASETS = ("trend-pairs", "basic-motions", "pickup-gesture", "uci-har", "wisdm", "hmp")


def load_series(name: str, split: Split = "train", *, root: str | Path | None = None,
                channels: tuple[int, ...] = (), seed: int = 0) -> LabeledSeries:
    """A data set's ``split`` as :class:`LabeledSeries` ``(N, C, T)``, with only ``channels``
    (indices; all when empty). ``seed`` draws the synthetic set and the subject-wise test split
    of WISDM and HMP (keep it fixed across runs that must share a test set).
    """
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    return select_channels(_load(name, split, root, seed), channels)


def validation_split(data: LabeledSeries, fraction: float, kind: str = "auto",
                     seed: int = 0) -> tuple[LabeledSeries, LabeledSeries]:
    """``(train, validation)`` from a training split: whole subjects held out (``subject``, or
    ``auto`` when ``data.subjects`` exists), otherwise a class-stratified share (``stratified``)."""
    if kind == "auto":
        kind = "subject" if data.subjects is not None and len(torch.unique(data.subjects)) >= 2 else "stratified"
    if kind == "subject":
        if data.subjects is None:
            raise ConfigError("split='subject' needs subject ids; this data set has none (use stratified)")
        validation, train = group_split(data.subjects, [fraction], generator=seed)
    elif kind == "stratified":
        validation, train = stratified_split(data.labels, [fraction], generator=seed)
    else:
        raise ConfigError(f"unknown split {kind!r}; valid: auto, subject, stratified")
    if len(train) == 0 or len(validation) == 0:
        raise UserError(f"{len(data)} windows are too few for a validation split of {fraction}")
    return data.subset(train), data.subset(validation)


__all__ = ["DATASETS", "load_series", "validation_split"]
