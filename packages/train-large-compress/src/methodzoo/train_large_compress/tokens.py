"""The special tokens every vocabulary here starts with (synthetic language and trained tokenizers).

Ids 0–4 are the same everywhere so that masking, padding and the classifiers' [CLS] position do
not depend on where the text came from.
"""

from __future__ import annotations

SPECIAL_TOKENS = ("[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]")
PAD_ID, CLS_ID, SEP_ID, MASK_ID, UNK_ID = range(len(SPECIAL_TOKENS))
NUM_SPECIAL = len(SPECIAL_TOKENS)

__all__ = ["CLS_ID", "MASK_ID", "NUM_SPECIAL", "PAD_ID", "SEP_ID", "SPECIAL_TOKENS", "UNK_ID"]
