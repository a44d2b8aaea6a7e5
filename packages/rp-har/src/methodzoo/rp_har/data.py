"""The data sets rp-har trains on, by name, and the splits used for model selection.

* ``trend-pairs``: the seeded synthetic trend-mirrored activities (:mod:`.synthetic`), split by
  subject (subjects 0–7 train, 8–11 test);
* ``basic-motions``, ``pickup-gesture``: offline, bundled with aeon (official train/test);
* ``uci-har`` (official split), ``wisdm``, ``hmp``: standard files in a local folder
  (``--data-root`` or ``$METHODZOO_DATA``); WISDM and HMP have no official split, so a quarter
  of their subjects (seeded) form the test split.

The readers are the core's (:mod:`methodzoo.shared.data`). A validation
split for model selection is cut from the training split only: whole subjects when subject
ids exist, else stratified by class.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from methodzoo.rp_har.containers import LabeledSeries, select_channels
from methodzoo.rp_har.synthetic import trend_mirrored
from methodzoo.shared.data import basic_motions, load_hmp, load_uci_har, load_wisdm, pickup_gesture
from methodzoo.shared.data.splits import group_split, stratified_split
from methodzoo.shared.errors import ConfigError, UserError

Split = Literal["train", "test"]
TREND_TRAIN_SUBJECTS = range(0, 8)
TREND_TEST_SUBJECTS = range(8, 12)
SUBJECT_TEST_FRACTION = 0.25


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
        return basic_motions(split)
    if name == "pickup-gesture":
        return pickup_gesture(split)
    if name == "uci-har":
        return load_uci_har(root, split)
    if name == "wisdm":
        return _split_by_subject(load_wisdm(root), split, seed)
    if name == "hmp":
        return _split_by_subject(load_hmp(root), split, seed)
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
