"""Pretraining tasks: where a training batch comes from, its loss, and the fixed validation set.

A task is the runner's only view of the data: ``training_loss(model, step, micro)`` draws batch
``step`` (a pure function of the run's seed and the step, masks included, so resuming is exact
and every size sees its own fresh data) and computes the loss of the micro-batch ``micro`` of it
(the core Trainer's share for this process under ``torchrun`` or gradient accumulation; the
whole batch without one). ``validation_loss(model)`` scores a validation set that is the same for
every size and seed, and ``example_inputs`` is the batch the FLOP counter runs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

import torch
from torch import nn

from methodzoo.shared.modules import eval_mode
from methodzoo.shared.train import EpochBatches, MicroBatch
from methodzoo.train_large_compress.config import ModelConfig, TrainConfig
from methodzoo.train_large_compress.masking import MaskedTokens, mask_tokens
from methodzoo.train_large_compress.models import (
    MaskedLanguageModel,
    Seq2SeqTransformer,
    masked_lm_loss,
    translation_loss,
)
from methodzoo.train_large_compress.synthetic import (
    TRAIN_STREAM,
    VALIDATION_STREAM,
    SyntheticLanguage,
    SyntheticTranslation,
    stream_generator,
)

MASK_STREAM = 10  # the masking generators' stream, apart from the sentences'
VALIDATION_SEED = 0  # one validation set for every run


class TokenSource(Protocol):
    """Sequences of token ids for masked-language modelling."""

    vocab_size: int
    length: int

    def train_tokens(self, seed: int, step: int, batch_size: int) -> torch.Tensor: ...

    def validation_tokens(self, batches: int, batch_size: int) -> list[torch.Tensor]: ...

    def epochs_seen(self, steps: int, batch_size: int) -> float: ...


class SyntheticSource:
    """Fresh sentences of a :class:`SyntheticLanguage` at every step (never an epoch)."""

    def __init__(self, language: SyntheticLanguage) -> None:
        self.language = language
        self.vocab_size = language.vocab_size
        self.length = language.config.length

    def train_tokens(self, seed: int, step: int, batch_size: int) -> torch.Tensor:
        return self.language.batch(TRAIN_STREAM, seed, step, batch_size).tokens

    def validation_tokens(self, batches: int, batch_size: int) -> list[torch.Tensor]:
        return [self.language.batch(VALIDATION_STREAM, VALIDATION_SEED, i, batch_size).tokens for i in range(batches)]

    def epochs_seen(self, steps: int, batch_size: int) -> float:
        return 0.0


class BlockSource:
    """Packed blocks of real text: shuffled epochs over the training blocks, fixed validation blocks."""

    def __init__(self, train: torch.Tensor, validation: torch.Tensor, vocab_size: int) -> None:
        self.train = train
        self.validation = validation
        self.vocab_size = vocab_size
        self.length = int(train.shape[1])

    def train_tokens(self, seed: int, step: int, batch_size: int) -> torch.Tensor:
        return self.train[EpochBatches(self.train.shape[0], batch_size, seed=seed).batch(step)]

    def validation_tokens(self, batches: int, batch_size: int) -> list[torch.Tensor]:
        return list(self.validation[: batches * batch_size].split(batch_size))

    def epochs_seen(self, steps: int, batch_size: int) -> float:
        return steps * batch_size / self.train.shape[0]


class PretrainingTask(ABC):
    """What the compute-budget runner trains: see the module docstring."""

    name: str

    @abstractmethod
    def build_model(self, config: ModelConfig) -> nn.Module: ...

    @abstractmethod
    def training_loss(self, model: nn.Module, step: int, micro: MicroBatch | None = None) -> torch.Tensor: ...

    @abstractmethod
    def validation_loss(self, model: nn.Module) -> float: ...

    @abstractmethod
    def example_inputs(self, batch_size: int) -> tuple[torch.Tensor, ...]: ...

    def epochs_seen(self, steps: int) -> float:
        return 0.0


class MaskedLMTask(PretrainingTask):
    """Masked-language modelling (15 %, 80/10/10) on a :class:`TokenSource`."""

    name = "mlm"

    def __init__(self, source: TokenSource, train: TrainConfig, seed: int, device: torch.device | str = "cpu") -> None:
        self.source = source
        self.train = train
        self.seed = seed
        self.device = torch.device(device)
        self._validation = [self._mask(tokens, stream_generator(MASK_STREAM + 1, VALIDATION_SEED, i))
                            for i, tokens in enumerate(source.validation_tokens(train.eval_batches, train.batch_size))]

    @property
    def vocab_size(self) -> int:
        return self.source.vocab_size

    def _mask(self, tokens: torch.Tensor, generator: torch.Generator) -> MaskedTokens:
        masked = mask_tokens(tokens, self.source.vocab_size, generator, probability=self.train.mask_probability,
                             mask_fraction=self.train.mask_token_fraction,
                             random_fraction=self.train.random_token_fraction)
        return MaskedTokens(masked.inputs.to(self.device), masked.labels.to(self.device))

    def build_model(self, config: ModelConfig) -> nn.Module:
        return MaskedLanguageModel(config.replace(vocab_size=self.source.vocab_size, decoder_depth=0))

    def training_batch(self, step: int, micro: MicroBatch | None = None) -> MaskedTokens:
        """Batch ``step``, masked, or the rows of micro-batch ``micro`` of it."""
        tokens = self.source.train_tokens(self.seed, step, self.train.batch_size)
        masked = self._mask(tokens, stream_generator(MASK_STREAM, self.seed, step))
        if micro is None:
            return masked
        return MaskedTokens(micro.select(masked.inputs), micro.select(masked.labels))

    def training_loss(self, model: nn.Module, step: int, micro: MicroBatch | None = None) -> torch.Tensor:
        batch = self.training_batch(step, micro)
        return masked_lm_loss(model, batch.inputs, batch.labels)

    @torch.no_grad()
    def validation_loss(self, model: nn.Module) -> float:
        with eval_mode(model):
            losses = [float(masked_lm_loss(model, b.inputs, b.labels)) for b in self._validation]
        return sum(losses) / len(losses)

    def example_inputs(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        return (self.source.train_tokens(self.seed, 0, batch_size).to(self.device),)

    def epochs_seen(self, steps: int) -> float:
        return self.source.epochs_seen(steps, self.train.batch_size)

    def validation_batches(self) -> list[MaskedTokens]:
        return list(self._validation)


class TranslationTask(PretrainingTask):
    """The synthetic translation task (teacher-forced cross-entropy of the target)."""

    name = "seq2seq"

    def __init__(self, translation: SyntheticTranslation, train: TrainConfig, seed: int,
                 device: torch.device | str = "cpu") -> None:
        self.translation = translation
        self.train = train
        self.seed = seed
        self.device = torch.device(device)
        self._validation = [tuple(t.to(self.device) for t in translation.batch(VALIDATION_STREAM, VALIDATION_SEED, i,
                                                                                train.batch_size))
                            for i in range(train.eval_batches)]

    def build_model(self, config: ModelConfig) -> nn.Module:
        depth = config.decoder_depth or config.depth
        return Seq2SeqTransformer(config.replace(vocab_size=self.translation.language.vocab_size,
                                                 decoder_depth=depth))

    def training_loss(self, model: nn.Module, step: int, micro: MicroBatch | None = None) -> torch.Tensor:
        source, target = self.translation.batch(TRAIN_STREAM, self.seed, step, self.train.batch_size)
        if micro is not None:
            source, target = micro.select(source), micro.select(target)
        return translation_loss(model, source.to(self.device), target.to(self.device))

    @torch.no_grad()
    def validation_loss(self, model: nn.Module) -> float:
        with eval_mode(model):
            losses = [float(translation_loss(model, s, t)) for s, t in self._validation]
        return sum(losses) / len(losses)

    def example_inputs(self, batch_size: int) -> tuple[torch.Tensor, ...]:
        source, target = self.translation.batch(TRAIN_STREAM, self.seed, 0, batch_size)
        return source.to(self.device), target[:, :-1].to(self.device)
