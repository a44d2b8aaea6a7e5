"""Huffman coding (Huffman 1952) of integer symbols: the last stage of Deep Compression.

:func:`huffman_code` builds a prefix-free code from symbol counts (ties broken by symbol, so the
code is deterministic); :meth:`HuffmanCode.encode` packs symbols into bytes and
:meth:`HuffmanCode.decode` reads them back exactly. The mean code length ``L`` satisfies
``H ≤ L < H + 1`` with ``H`` the entropy of the symbol distribution.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class HuffmanCode:
    """A prefix-free code: ``codes[symbol]`` is its bit string (``"0"``/``"1"`` characters)."""

    codes: dict[int, str]

    def length(self, counts: Mapping[int, int]) -> int:
        """Total bits to encode symbols with these counts."""
        return sum(count * len(self.codes[symbol]) for symbol, count in counts.items())

    def encode(self, symbols: Iterable[int]) -> tuple[bytes, int]:
        """The packed bit stream and its length in bits."""
        values = np.asarray(list(symbols) if not isinstance(symbols, np.ndarray) else symbols).reshape(-1)
        if values.size == 0:
            return b"", 0
        alphabet = np.array(sorted(self.codes))
        width = max(len(c) for c in self.codes.values())
        table = np.zeros((len(alphabet), width), dtype=np.uint8)
        lengths = np.zeros(len(alphabet), dtype=np.int64)
        for row, symbol in enumerate(alphabet):
            code = self.codes[int(symbol)]
            table[row, : len(code)] = [int(bit) for bit in code]
            lengths[row] = len(code)
        rows = np.searchsorted(alphabet, values)
        if np.any(rows >= len(alphabet)) or np.any(alphabet[np.minimum(rows, len(alphabet) - 1)] != values):
            raise ValueError("symbols outside the code's alphabet")
        bits = table[rows][np.arange(width)[None, :] < lengths[rows][:, None]]
        return np.packbits(bits).tobytes(), int(bits.size)

    def decode(self, data: bytes, bit_count: int) -> list[int]:
        """Inverse of :meth:`encode`."""
        bits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[:bit_count]
        lookup = {code: symbol for symbol, code in self.codes.items()}
        out, current = [], ""
        for bit in bits:
            current += "1" if bit else "0"
            if current in lookup:
                out.append(lookup[current])
                current = ""
        if current:
            raise ValueError("the bit stream ends inside a code word")
        return out


def huffman_code(counts: Mapping[int, int]) -> HuffmanCode:
    """The Huffman code of symbols occurring ``counts[symbol]`` times (counts > 0)."""
    used = {int(s): int(c) for s, c in counts.items() if c > 0}
    if not used:
        return HuffmanCode({})
    if len(used) == 1:
        return HuffmanCode({next(iter(used)): "0"})  # one symbol still needs one bit per occurrence
    order = itertools.count()
    heap: list[tuple[int, int, int, list[int]]] = [(c, s, next(order), [s]) for s, c in sorted(used.items())]
    heapq.heapify(heap)
    codes = dict.fromkeys(used, "")
    while len(heap) > 1:
        count_a, key_a, _, group_a = heapq.heappop(heap)
        count_b, key_b, _, group_b = heapq.heappop(heap)
        for symbol in group_a:
            codes[symbol] = "0" + codes[symbol]
        for symbol in group_b:
            codes[symbol] = "1" + codes[symbol]
        heapq.heappush(heap, (count_a + count_b, min(key_a, key_b), next(order), group_a + group_b))
    return HuffmanCode(codes)


def entropy_bits(counts: Mapping[int, int]) -> float:
    """Shannon entropy (bits per symbol) of the empirical distribution."""
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values() if c > 0)


def counts_of(symbols: np.ndarray) -> dict[int, int]:
    """Symbol counts of an integer array."""
    values, counts = np.unique(np.asarray(symbols).reshape(-1), return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def huffman_bits(symbols: np.ndarray) -> int:
    """Bits of the Huffman-coded ``symbols`` (the code table itself not included)."""
    counts = counts_of(symbols)
    return huffman_code(counts).length(counts)


