"""GLUE tasks in their standard TSV files: SST-2, QQP and MNLI.

Expected layout under the data root (GLUE's ``download_glue_data.py`` output)::

    SST-2/{train,dev,test}.tsv   header "sentence<TAB>label" (test: "index<TAB>sentence")
    QQP/{train,dev,test}.tsv     header "id qid1 qid2 question1 question2 is_duplicate"
                                 (test: "id question1 question2")
    MNLI/{train,dev_matched,dev_mismatched,test_matched,test_mismatched}.tsv
                                 columns "sentence1", "sentence2", "gold_label" among others

Columns are found by their header name. Fields are split on tabs only: the text keeps its quote
characters (GLUE files are not CSV-quoted). Test splits have no labels: they read as ``-1``.
Rows with the wrong number of fields (QQP has a few) are skipped with a
:class:`~methodzoo.shared.data.malformed.MalformedRecordsWarning`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, NamedTuple, overload

import torch

from methodzoo.shared.data.malformed import warn_skipped
from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.text import NLI_LABELS, POLARITY_LABELS
from methodzoo.shared.data.types import LabeledTexts, SentencePairs
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

Task = Literal["sst2", "qqp", "mnli"]
DUPLICATE_LABELS = ("not_duplicate", "duplicate")
_FOLDERS = {"sst2": "SST-2", "qqp": "QQP", "mnli": "MNLI"}
_FILES = {
    "sst2": {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"},
    "qqp": {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"},
    "mnli": {"train": "train.tsv", "dev": "dev_matched.tsv", "dev_matched": "dev_matched.tsv",
             "dev_mismatched": "dev_mismatched.tsv", "test": "test_matched.tsv",
             "test_matched": "test_matched.tsv", "test_mismatched": "test_mismatched.tsv"},
}
# (first text column, second text column or None, label column, label names)
_COLUMNS = {
    "sst2": ("sentence", None, "label", POLARITY_LABELS),
    "qqp": ("question1", "question2", "is_duplicate", DUPLICATE_LABELS),
    "mnli": ("sentence1", "sentence2", "gold_label", NLI_LABELS),
}


@overload
def load_glue_tsv(root: str | Path | None = ..., task: Literal["sst2"] = ...,
                  split: str = ...) -> LabeledTexts: ...
@overload
def load_glue_tsv(root: str | Path | None = ..., *, task: Literal["qqp", "mnli"],
                  split: str = ...) -> SentencePairs: ...
@overload
def load_glue_tsv(root: str | Path | None, task: Literal["qqp", "mnli"],
                  split: str = ...) -> SentencePairs: ...
def load_glue_tsv(root: str | Path | None = None, task: Task = "sst2",
                  split: str = "train") -> LabeledTexts | SentencePairs:
    """One GLUE split: SST-2 as :class:`LabeledTexts`, QQP and MNLI as :class:`SentencePairs`.

    ``split`` is ``train``, ``dev`` or ``test`` (MNLI: ``dev``/``test`` are the matched sets;
    ``dev_mismatched`` and ``test_mismatched`` name the others). Labels: SST-2 negative 0 /
    positive 1; QQP not_duplicate 0 / duplicate 1 (``premise`` = question1, ``hypothesis`` =
    question2); MNLI entailment 0 / neutral 1 / contradiction 2.
    """
    if task not in _FILES:
        raise ConfigError(f"task must be one of {sorted(_FILES)}, got {task!r}")
    if split not in _FILES[task]:
        raise ConfigError(f"split of {task} must be one of {list(_FILES[task])}, got {split!r}")
    base = data_root(root)
    relative = f"{_FOLDERS[task]}/{_FILES[task][split]}"
    path = base / relative
    if not path.is_file():
        layout = ", ".join(f"{_FOLDERS[task]}/{name}" for name in dict.fromkeys(_FILES[task].values()))
        raise DataNotFoundError(f"GLUE {task} {split} split not found: expected {relative} under "
                                f"{base} (the GLUE layout: {layout}; set METHODZOO_DATA or pass root=)")
    first, second, label_column, names = _COLUMNS[task]
    rows = _read_tsv(path, required=[first] if second is None else [first, second])
    has_labels = label_column in rows.header
    position = {name: index for index, name in enumerate(names)}
    labels = [_label(row[rows.header[label_column]], names, position, path) if has_labels else -1
              for row in rows.rows]
    tensor = torch.tensor(labels, dtype=torch.int64)
    texts = [row[rows.header[first]] for row in rows.rows]
    if second is None:
        return LabeledTexts(texts, tensor, names)
    return SentencePairs(texts, [row[rows.header[second]] for row in rows.rows], tensor, names)


class _Table(NamedTuple):
    header: dict[str, int]  # column name -> position
    rows: list[list[str]]


def _read_tsv(path: Path, required: list[str]) -> _Table:
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines:
        raise UserError(f"{path}: empty file (expected a header line)")
    names = lines[0].split("\t")
    header = {name.strip(): index for index, name in enumerate(names)}
    missing = [name for name in required if name not in header]
    if missing:
        raise UserError(f"{path}: header has no column(s) {missing}; found {list(header)}")
    rows = [line.split("\t") for line in lines[1:] if line.strip()]
    kept = [row for row in rows if len(row) == len(names)]
    warn_skipped(path, len(rows) - len(kept), len(rows), "rows")
    return _Table(header, kept)


def _label(value: str, names: tuple[str, ...], position: dict[str, int], path: Path) -> int:
    value = value.strip()
    if value in position:
        return position[value]
    if value.isdigit() and int(value) < len(names):
        return int(value)
    raise UserError(f"{path}: label {value!r} is not one of {list(names)} or 0..{len(names) - 1}")
