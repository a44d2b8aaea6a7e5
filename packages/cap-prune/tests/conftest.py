"""Tiny random BERT models and tokenizers for the cap-prune tests (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers


@pytest.fixture(autouse=True)
def one_thread() -> object:
    """Tiny models run fastest on one thread; on a shared machine, several threads mostly wait
    for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


WORDS = ("a", "man", "woman", "dog", "cat", "is", "are", "the", "on", "in", "sleeping", "running", "eating",
         "outside", "inside", "park", "food", "not", "no", "two", "people", "child", "plays", "sits", "walks",
         "red", "blue", "big", "small")


def tiny_bert_config(**overrides: object) -> transformers.BertConfig:
    settings = dict(vocab_size=64, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=48, max_position_embeddings=40, type_vocab_size=2,
                    hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    settings.update(overrides)
    return transformers.BertConfig(**settings)


def tiny_hf_bert(seed: int = 0, **overrides: object) -> transformers.BertModel:
    torch.manual_seed(seed)
    return transformers.BertModel(tiny_bert_config(**overrides)).eval()


@pytest.fixture
def hf_bert() -> transformers.BertModel:
    """A 2-layer, 4-head, hidden-32 BERT with random weights, in eval mode."""
    return tiny_hf_bert()


@pytest.fixture
def make_hf_bert() -> object:
    """``make_hf_bert(seed, **BertConfig overrides)`` → a random tiny ``BertModel``."""
    return tiny_hf_bert


@pytest.fixture
def make_bert_config() -> object:
    return tiny_bert_config


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> transformers.BertTokenizerFast:
    folder: Path = tmp_path_factory.mktemp("vocab")
    vocab = folder / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]) + "\n")
    return transformers.BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True)


def tiny_task(size: int = 48, length: int = 8, seed: int = 0) -> object:
    """Token sequences whose label (0/1/2) is which of tokens 5, 6, 7 the sequence contains:
    learnable by a tiny BERT in a few dozen steps."""
    from methodzoo.cap_prune import TokenizedTexts

    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(8, 64, (size, length), generator=generator)
    labels = torch.arange(size) % 3
    input_ids[:, 0] = 2  # [CLS]
    input_ids[torch.arange(size), 1 + torch.randint(0, length - 2, (size,), generator=generator)] = 5 + labels
    attention_mask = torch.ones(size, length, dtype=torch.long)
    attention_mask[::4, length - 2:] = 0
    input_ids[attention_mask == 0] = 0
    return TokenizedTexts(input_ids, attention_mask, torch.zeros_like(input_ids), labels,
                          ("zero", "one", "two"))


@pytest.fixture
def make_tiny_task() -> object:
    """``make_tiny_task(size, length, seed)`` → a learnable 3-class :class:`TokenizedTexts`."""
    return tiny_task
