"""BERT/RoBERTa masking for masked-language modelling.

Each non-special position is chosen for prediction independently with probability 15 %; a
chosen token is replaced by [MASK] with probability 80 %, by a uniformly random word with
probability 10 %, and left unchanged otherwise (Devlin et al. 2019; RoBERTa draws a fresh mask
every time a sequence is seen, which a fresh generator per step does here). Special tokens
([PAD], [CLS], [SEP], …) are never chosen.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from methodzoo.shared.config import check
from methodzoo.train_large_compress.models import IGNORE_INDEX
from methodzoo.train_large_compress.tokens import MASK_ID, NUM_SPECIAL


class MaskedTokens(NamedTuple):
    """The model's ``inputs`` and the ``labels`` to predict (−100 where nothing is predicted)."""

    inputs: torch.Tensor
    labels: torch.Tensor


def mask_tokens(tokens: torch.Tensor, vocab_size: int, generator: torch.Generator, *,
                probability: float = 0.15, mask_fraction: float = 0.8, random_fraction: float = 0.1) -> MaskedTokens:
    """Choose and corrupt positions of ``tokens`` (B, S) as described in the module docstring.

    Should no position be chosen at all (tiny batches), the first eligible one is, so the loss is
    always defined.
    """
    check(0 < probability < 1, "probability must be in (0, 1), got {}", probability)
    check(mask_fraction >= 0 and random_fraction >= 0 and mask_fraction + random_fraction <= 1,
          "mask_fraction + random_fraction must be in [0, 1], got {} + {}", mask_fraction, random_fraction)
    eligible = tokens >= NUM_SPECIAL
    device = tokens.device
    draws = torch.rand(2, *tokens.shape, generator=generator, device=generator.device).to(device)
    chosen = eligible & (draws[0] < probability)
    if not bool(chosen.any()) and bool(eligible.any()):
        first = eligible.flatten().nonzero()[0]
        chosen = chosen.flatten().index_fill(0, first, True).view_as(tokens)
    to_mask = chosen & (draws[1] < mask_fraction)
    to_random = chosen & (draws[1] >= mask_fraction) & (draws[1] < mask_fraction + random_fraction)
    random_words = torch.randint(NUM_SPECIAL, vocab_size, tokens.shape, generator=generator,
                                 device=generator.device).to(device)
    inputs = torch.where(to_mask, torch.full_like(tokens, MASK_ID), tokens)
    inputs = torch.where(to_random, random_words, inputs)
    labels = torch.where(chosen, tokens, torch.full_like(tokens, IGNORE_INDEX))
    return MaskedTokens(inputs, labels)
