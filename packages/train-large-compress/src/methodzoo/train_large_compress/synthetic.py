"""A seeded synthetic language with unlimited data, and the tasks built on it.

The language (:class:`SyntheticLanguage`) is a mixture of Zipfian hidden Markov models: a
sentence draws a topic τ, hidden states z₁ … z_n from topic τ's sparse transition matrix, and one
word per state from that state's Zipfian emission distribution. Predicting a masked word needs
the neighbouring words (which constrain z) and the whole sentence (which reveals τ), so larger
models have something to gain, and fresh sentences are free: the paper's "less than one epoch"
regime holds by construction (a test checks that no sentence repeats).

Batches are pure functions of ``(stream seed, step)`` (the generator is seeded from both through
NumPy's ``SeedSequence``), so resuming, parallel runs and validation sets are reproducible.
Tasks on the same text:

* masked-language modelling on the sentences;
* topic classification (the topic is the latent label) — the downstream fine-tuning task;
* a translation-like sequence-to-sequence task (:class:`SyntheticTranslation`): the target is the
  source read backwards with every word mapped through a fixed random bijection.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch

from methodzoo.shared.seed import make_generator, numpy_rng
from methodzoo.train_large_compress.config import LanguageConfig
from methodzoo.train_large_compress.tokens import CLS_ID, NUM_SPECIAL, SEP_ID

TRAIN_STREAM, VALIDATION_STREAM, TEST_STREAM = 0, 1, 2


def stream_rng(stream: int, seed: int, step: int) -> np.random.Generator:
    """The NumPy generator of batch ``step`` of stream ``stream`` under ``seed``, independent of all
    others (NumPy's ``SeedSequence`` mixes the three numbers)."""
    return np.random.default_rng(np.random.SeedSequence([stream, seed, step]))


def stream_generator(stream: int, seed: int, step: int) -> torch.Generator:
    """The same, as a torch generator (for masking)."""
    state = np.random.SeedSequence([stream, seed, step, 1]).generate_state(1, dtype=np.uint64)[0]
    return make_generator(int(state) % (2**63))


class Sentences(NamedTuple):
    """Token ids ``(B, L)`` as ``[CLS] w₁ … w_n [SEP]``, each sentence's topic ``(B,)`` and
    hidden states ``(B, n)``."""

    tokens: torch.Tensor
    topics: torch.Tensor
    states: torch.Tensor


class SyntheticLanguage:
    """The language of a :class:`LanguageConfig`: emissions, transitions and initial states."""

    def __init__(self, config: LanguageConfig) -> None:
        self.config = config
        rng = numpy_rng(config.seed)
        words = config.vocab_size - NUM_SPECIAL
        k = config.states
        ranks = np.stack([rng.permutation(words) + 1 for _ in range(k)])  # (K, W): a word's rank per state
        weights = ranks.astype(np.float64) ** -config.zipf_exponent
        self.emissions = torch.from_numpy(weights / weights.sum(1, keepdims=True))  # (K, W)
        alpha = np.full(k, config.transition_concentration)
        self.transitions = torch.from_numpy(np.stack([rng.dirichlet(alpha, size=k)
                                                      for _ in range(config.topics)]))  # (τ, K, K)
        self.initial = torch.from_numpy(rng.dirichlet(np.ones(k), size=config.topics))  # (τ, K)
        self._emission_table = RowSampler(self.emissions)
        self._transition_table = RowSampler(self.transitions.reshape(-1, k))  # row τ·K + z
        self._initial_table = RowSampler(self.initial)

    @property
    def vocab_size(self) -> int:
        return self.config.vocab_size

    @property
    def words_per_sentence(self) -> int:
        return self.config.length - 2

    def sample(self, batch_size: int, rng: np.random.Generator) -> Sentences:
        """``batch_size`` fresh sentences drawn with ``rng``."""
        n, k = self.words_per_sentence, self.config.states
        topics = rng.integers(self.config.topics, size=batch_size)
        uniforms = rng.random((2, batch_size, n))
        states = np.empty((batch_size, n), dtype=np.int64)
        states[:, 0] = self._initial_table.draw(topics, uniforms[0, :, 0])
        for t in range(1, n):
            states[:, t] = self._transition_table.draw(topics * k + states[:, t - 1], uniforms[0, :, t])
        words = self._emission_table.draw(states, uniforms[1])
        tokens = np.concatenate([np.full((batch_size, 1), CLS_ID), words + NUM_SPECIAL,
                                 np.full((batch_size, 1), SEP_ID)], axis=1)
        return Sentences(torch.from_numpy(tokens), torch.from_numpy(topics), torch.from_numpy(states))

    def batch(self, stream: int, seed: int, step: int, batch_size: int) -> Sentences:
        """Batch ``step`` of a stream: the same call always returns the same sentences."""
        return self.sample(batch_size, stream_rng(stream, seed, step))

    def unigram_entropy(self) -> float:
        """Entropy (nats) of the marginal word distribution: the loss of a model that ignores
        context, a ceiling every trained model should go below."""
        stationary = torch.zeros(self.config.states, dtype=torch.float64)
        for topic in range(self.config.topics):
            p = self.initial[topic]
            for _ in range(self.words_per_sentence):
                stationary += p / (self.config.topics * self.words_per_sentence)
                p = p @ self.transitions[topic]
        marginal = stationary @ self.emissions
        return float(-(marginal * marginal.clamp_min(1e-300).log()).sum())


class RowSampler:
    """Inverse-CDF sampling from many categorical distributions (the rows of a (R, K) matrix)
    without gathering whole rows: row r's CDF is shifted to [r, r + 1] and all rows are
    concatenated into one sorted array, so ``searchsorted(r + u)`` lands in row r."""

    def __init__(self, probabilities: torch.Tensor) -> None:
        table = probabilities.double().numpy()
        rows, self.count = table.shape
        cumulative = table.cumsum(1)
        cumulative /= cumulative[:, -1:]
        self.flat = (cumulative + np.arange(rows)[:, None]).ravel()  # (R·K,)

    def draw(self, rows: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """One index per entry of ``rows`` (any shape), from the uniforms of the same shape."""
        index = np.searchsorted(self.flat, rows + uniforms, side="right")
        return np.clip(index - rows * self.count, 0, self.count - 1)


class SyntheticTranslation:
    """Source sentences of the language and their "translations": reversed, word by word mapped
    through a fixed random bijection of the words (seeded by the language's seed)."""

    def __init__(self, language: SyntheticLanguage) -> None:
        self.language = language
        words = language.vocab_size - NUM_SPECIAL
        permutation = torch.randperm(words, generator=make_generator(language.config.seed + 7919))
        self.word_map = torch.cat([torch.arange(NUM_SPECIAL), permutation + NUM_SPECIAL])  # (V,)

    def translate(self, tokens: torch.Tensor) -> torch.Tensor:
        """``[CLS] w₁ … w_n [SEP]`` → ``[CLS] π(w_n) … π(w₁) [SEP]``."""
        inner = self.word_map[tokens[:, 1:-1]].flip(1)
        return torch.cat([tokens[:, :1], inner, tokens[:, -1:]], dim=1)

    def batch(self, stream: int, seed: int, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(source, target) token ids, both ``(B, L)``."""
        source = self.language.batch(stream, seed, step, batch_size).tokens
        return source, self.translate(source)
