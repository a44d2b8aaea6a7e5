"""Tiny random BERT models and tokenizers for the cap-prune tests (no download)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

WORDS = ("a man woman dog cat is are the on in sleeping running eating outside inside park food "
         "not no two people child plays sits walks red blue big small").split()


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
