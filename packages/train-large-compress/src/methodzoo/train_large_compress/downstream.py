"""Downstream fine-tuning on the pretraining text (the paper fine-tunes on MNLI and SST-2).

* synthetic language: :func:`topic_task`, the sentence's latent topic (which HMM wrote it);
* real text: :func:`snli_task` (3-way inference on sentence pairs, MNLI-like) and
  :func:`movie_task` (snippet polarity, SST-2-like), tokenized with the tokenizer trained for
  pretraining.

:func:`fine_tune` puts RoBERTa's classification head on a pretrained encoder and trains all of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.config import Config, check
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.train import EpochBatches
from methodzoo.train_large_compress.models import (
    SequenceClassifier,
    TransformerEncoder,
    load_encoder_into,
)
from methodzoo.train_large_compress.synthetic import SyntheticLanguage
from methodzoo.train_large_compress.tokens import PAD_ID

DOWNSTREAM_TRAIN_STREAM, DOWNSTREAM_TEST_STREAM = 20, 21


class ClassificationData(NamedTuple):
    """Token ids ``(N, L)`` ([PAD]-padded) and labels for training and testing."""

    train_ids: torch.Tensor
    train_labels: torch.Tensor
    test_ids: torch.Tensor
    test_labels: torch.Tensor
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def topic_task(language: SyntheticLanguage, train_size: int = 2048, test_size: int = 1024) -> ClassificationData:
    """Which topic (HMM of the mixture) wrote each sentence: fresh sentences, disjoint streams."""
    train = language.batch(DOWNSTREAM_TRAIN_STREAM, 0, 0, train_size)
    test = language.batch(DOWNSTREAM_TEST_STREAM, 0, 0, test_size)
    names = tuple(f"topic {k}" for k in range(language.config.topics))
    return ClassificationData(train.tokens, train.topics, test.tokens, test.topics, names)


def encode(tokenizer: Any, first: list[str], second: list[str] | None, length: int) -> torch.Tensor:
    """``[CLS] a [SEP] (b [SEP])`` ids, truncated and [PAD]-padded to ``length``."""
    from tokenizers import Tokenizer

    local = Tokenizer.from_str(tokenizer.to_str())  # padding settings stay off the caller's tokenizer
    local.enable_truncation(length)
    local.enable_padding(pad_id=PAD_ID, pad_token="[PAD]", length=length)
    inputs: list[Any] = list(zip(first, second, strict=True)) if second is not None else list(first)
    return torch.tensor([e.ids for e in local.encode_batch(inputs)], dtype=torch.long)


def snli_task(tokenizer: Any, length: int = 64, train_size: int = 20_000, test_size: int = 2_000,
              archive: str | Path | None = None) -> ClassificationData:
    """SNLI pairs (entailment / neutral / contradiction) from the core's loader."""
    from methodzoo.shared.data.text import NLI_LABELS, snli

    train = snli("train", limit=train_size, archive=archive)
    test = snli("test", limit=test_size, archive=archive)
    return ClassificationData(encode(tokenizer, list(train.premise), list(train.hypothesis), length), train.labels,
                              encode(tokenizer, list(test.premise), list(test.hypothesis), length), test.labels,
                              tuple(NLI_LABELS))


def movie_task(tokenizer: Any, length: int = 64, test_fraction: float = 0.2, seed: int = 0,
               archive: str | Path | None = None) -> ClassificationData:
    """Rated movie snippets, positive or negative, a seeded random train/test split."""
    from methodzoo.shared.data.text import POLARITY_LABELS, movie_snippets

    snippets = movie_snippets(archive=archive)
    ids = encode(tokenizer, list(snippets.texts), None, length)
    order = torch.randperm(len(ids), generator=make_generator(seed))
    held_out = max(1, round(test_fraction * len(ids)))
    test, train = order[:held_out], order[held_out:]
    return ClassificationData(ids[train], snippets.labels[train], ids[test], snippets.labels[test],
                              tuple(POLARITY_LABELS))


@dataclass(frozen=True)
class FineTuneConfig(Config):
    """Fine-tuning (RoBERTa's GLUE recipe, shortened): AdamW, linear warm-up and decay."""

    steps: int = field(default=300, metadata={"help": "fine-tuning steps"})
    batch_size: int = field(default=32, metadata={"help": "examples per step"})
    lr: float = field(default=1e-4, metadata={"help": "peak learning rate"})
    warmup_fraction: float = field(default=0.06, metadata={"help": "warm-up share of the steps (RoBERTa: 6 %)"})
    weight_decay: float = field(default=0.1, metadata={"help": "AdamW weight decay (RoBERTa GLUE: 0.1)"})

    def validate(self) -> None:
        check(self.steps >= 1, "steps must be >= 1, got {}", self.steps)
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(0 <= self.warmup_fraction < 1, "warmup_fraction must be in [0, 1), got {}", self.warmup_fraction)
        check(self.weight_decay >= 0, "weight_decay must be >= 0, got {}", self.weight_decay)


@torch.no_grad()
def accuracy(model: nn.Module, ids: torch.Tensor, labels: torch.Tensor, batch_size: int = 256) -> float:
    """Fraction of ``ids`` whose arg-max class is the label."""
    device = next(model.parameters()).device
    correct = 0
    with eval_mode(model):
        for chunk, target in zip(ids.split(batch_size), labels.split(batch_size), strict=True):
            correct += int((model(chunk.to(device)).argmax(-1).cpu() == target).sum())
    return correct / max(1, len(ids))


def classification_loss(model: nn.Module, data: ClassificationData, batches: EpochBatches, step: int) -> torch.Tensor:
    """Cross-entropy of batch ``step`` of the training examples."""
    device = next(model.parameters()).device
    index = batches.batch(step)
    return F.cross_entropy(model(data.train_ids[index].to(device)), data.train_labels[index].to(device))


class FineTuned(NamedTuple):
    model: SequenceClassifier
    accuracy: float
    losses: list[float]


def fine_tune(pretrained: nn.Module, data: ClassificationData, config: FineTuneConfig | None = None,
              seed: int = 0) -> FineTuned:
    """A :class:`SequenceClassifier` with ``pretrained``'s encoder, fine-tuned on ``data``."""
    config = config or FineTuneConfig()
    encoder = getattr(pretrained, "encoder", None)
    if not isinstance(encoder, TransformerEncoder):
        raise TypeError(f"{type(pretrained).__name__} has no TransformerEncoder to fine-tune")
    device = next(pretrained.parameters()).device
    with seeded(seed):
        model = load_encoder_into(SequenceClassifier(encoder.config, data.num_classes), pretrained).to(device)
    batches = EpochBatches(len(data.train_ids), min(config.batch_size, len(data.train_ids)), seed=seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-6,
                                  weight_decay=config.weight_decay)
    warmup = max(1, int(config.warmup_fraction * config.steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (config.steps - s) / max(1, config.steps - warmup))))
    losses = []
    model.train()
    for step in range(config.steps):
        loss = classification_loss(model, data, batches, step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
    return FineTuned(model, accuracy(model, data.test_ids, data.test_labels), losses)
