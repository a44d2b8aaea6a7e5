import pytest
import torch

from methodzoo.shared.errors import DataNotFoundError
from methodzoo.shared.testing import write_movie_snippets_sdist, write_snli_sdist
from methodzoo.train_large_compress.corpus import (
    corpus_sentences,
    load_text_folder,
    load_tokenizer,
    pack_blocks,
    split_blocks,
    train_tokenizer,
)
from methodzoo.train_large_compress.tokens import CLS_ID, MASK_ID, PAD_ID, SEP_ID, SPECIAL_TOKENS

SENTENCES = [f"the {a} cat sat on the {b} mat" for a in ("black", "white", "grey") for b in ("red", "blue")] * 5


def test_folder_loader_reads_lines_of_sorted_files(tmp_path) -> None:
    (tmp_path / "b.txt").write_text("second file\n\n")
    (tmp_path / "a.txt").write_text("  first line \nsecond line\n")
    (tmp_path / "skip.md").write_text("not text")
    assert load_text_folder(tmp_path) == ["first line", "second line", "second file"]


def test_folder_loader_names_what_it_expected(tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match="does not exist"):
        load_text_folder(tmp_path / "missing")
    with pytest.raises(DataNotFoundError, match=r"no \*\.txt files"):
        load_text_folder(tmp_path)


def test_tokenizer_has_the_special_ids_and_round_trips(tmp_path) -> None:
    tokenizer = train_tokenizer(SENTENCES, vocab_size=300, min_frequency=1)
    for index, token in enumerate(SPECIAL_TOKENS):
        assert tokenizer.token_to_id(token) == index
    assert (PAD_ID, MASK_ID) == (0, 3)
    encoding = tokenizer.encode("the black cat")
    assert encoding.ids[0] == CLS_ID and encoding.ids[-1] == SEP_ID
    assert tokenizer.decode(encoding.ids).strip() == "the black cat"
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    assert load_tokenizer(tmp_path / "tokenizer.json").encode("the black cat").ids == encoding.ids


def test_blocks_are_full_and_start_with_cls() -> None:
    tokenizer = train_tokenizer(SENTENCES, vocab_size=300, min_frequency=1)
    blocks = pack_blocks(SENTENCES, tokenizer, length=16)
    assert blocks.shape[1] == 16 and bool((blocks[:, 0] == CLS_ID).all())
    assert int((blocks == SEP_ID).sum()) >= blocks.shape[0]  # sentences are joined by [SEP]
    train, validation = split_blocks(blocks, 0.2)
    assert len(train) + len(validation) == len(blocks)
    rows = {tuple(r.tolist()) for r in train} | {tuple(r.tolist()) for r in validation}
    assert len(rows) <= len(blocks)


def test_real_corpora_through_the_core_loaders(tmp_path) -> None:
    pair = {"sentence1": "A man plays.", "sentence2": "A person plays.", "gold_label": "entailment"}
    snli = write_snli_sdist(tmp_path / "snli.tar.gz", [pair, {**pair, "sentence2": "Nobody plays."}], [pair])
    assert corpus_sentences("snli", archive=snli) == ["A man plays.", "A person plays.", "Nobody plays."]
    movies = write_movie_snippets_sdist(tmp_path / "movies.tar.gz", [(2.0, "great film"), (-1.5, "dull")])
    assert corpus_sentences("movies", archive=movies) == ["great film", "dull"]


def test_pack_rejects_too_little_text() -> None:
    tokenizer = train_tokenizer(SENTENCES, vocab_size=300, min_frequency=1)
    with pytest.raises(Exception, match="fewer than one block"):
        pack_blocks(["cat"], tokenizer, length=64)
    assert torch.is_tensor(pack_blocks(SENTENCES, tokenizer, length=8))
