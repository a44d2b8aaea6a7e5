import numpy as np
import torch

from methodzoo.train_large_compress.config import LanguageConfig
from methodzoo.train_large_compress.synthetic import (
    TRAIN_STREAM,
    VALIDATION_STREAM,
    RowSampler,
    SyntheticLanguage,
    SyntheticTranslation,
)
from methodzoo.train_large_compress.tokens import CLS_ID, NUM_SPECIAL, SEP_ID

LANGUAGE = SyntheticLanguage(LanguageConfig(vocab_size=64, states=8, topics=3, length=20))


def test_sentences_have_the_layout_and_vocabulary() -> None:
    tokens, topics, states = LANGUAGE.batch(TRAIN_STREAM, 0, 0, 16)
    assert tokens.shape == (16, 20) and states.shape == (16, 18)
    assert bool((tokens[:, 0] == CLS_ID).all()) and bool((tokens[:, -1] == SEP_ID).all())
    assert int(tokens[:, 1:-1].min()) >= NUM_SPECIAL and int(tokens.max()) < 64
    assert int(topics.max()) < 3 and int(states.max()) < 8


def test_batches_are_pure_functions_of_stream_seed_and_step() -> None:
    a = LANGUAGE.batch(TRAIN_STREAM, 3, 5, 8).tokens
    assert torch.equal(a, LANGUAGE.batch(TRAIN_STREAM, 3, 5, 8).tokens)
    assert not torch.equal(a, LANGUAGE.batch(TRAIN_STREAM, 3, 6, 8).tokens)
    assert not torch.equal(a, LANGUAGE.batch(TRAIN_STREAM, 4, 5, 8).tokens)
    assert not torch.equal(a, LANGUAGE.batch(VALIDATION_STREAM, 3, 5, 8).tokens)


def test_no_sentence_is_seen_twice() -> None:
    seen = {tuple(row.tolist()) for step in range(50) for row in LANGUAGE.batch(TRAIN_STREAM, 0, step, 32).tokens}
    validation = {tuple(row.tolist()) for row in LANGUAGE.batch(VALIDATION_STREAM, 0, 0, 256).tokens}
    assert len(seen) == 50 * 32
    assert not seen & validation


def test_row_sampler_draws_each_row_from_its_distribution() -> None:
    probabilities = torch.tensor([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.5, 0.5]])
    sampler = RowSampler(probabilities)
    rng = np.random.default_rng(0)
    rows = np.repeat([0, 1], 20_000)
    draws = sampler.draw(rows, rng.random(rows.shape))
    for row in (0, 1):
        frequency = np.bincount(draws[rows == row], minlength=4) / 20_000
        np.testing.assert_allclose(frequency, probabilities[row].numpy(), atol=0.01)


def test_sampled_transitions_follow_the_topic_matrix() -> None:
    sentences = LANGUAGE.sample(3000, np.random.default_rng(1))
    topic = sentences.topics == 0
    states = sentences.states[topic]
    counts = torch.zeros(8, 8)
    counts.index_put_((states[:, :-1].flatten(), states[:, 1:].flatten()), torch.ones(states[:, 1:].numel()),
                      accumulate=True)
    busiest = int(counts.sum(1).argmax())
    empirical = counts[busiest] / counts[busiest].sum()
    assert 0.5 * float((empirical - LANGUAGE.transitions[0, busiest].float()).abs().sum()) < 0.05


def test_translation_reverses_and_maps_words_bijectively() -> None:
    translation = SyntheticTranslation(LANGUAGE)
    source, target = translation.batch(TRAIN_STREAM, 0, 0, 4)
    assert torch.equal(target[:, 0], source[:, 0]) and torch.equal(target[:, -1], source[:, -1])
    assert torch.equal(target[:, 1:-1], translation.word_map[source[:, 1:-1]].flip(1))
    assert sorted(translation.word_map.tolist()) == list(range(64))


def test_context_free_loss_ceiling_is_below_uniform() -> None:
    assert 0 < LANGUAGE.unigram_entropy() < float(np.log(64 - NUM_SPECIAL))
