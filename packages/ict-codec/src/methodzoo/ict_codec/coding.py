"""Entropy coding of integer symbols with constriction's range coder (a queue: first in, first out).

Each symbol is coded with one row of a probability table (a z channel, or a level of the scale
table). Symbols sharing a row are coded together with one categorical model, rows in ascending
order; the decoder knows every symbol's row (from ẑ and the slices already decoded), so it groups
them identically. Values outside a row's support are sent as an escape symbol followed by the
value itself in 15-bit chunks with a continuation bit (uniform model), so any integer round-trips.
"""

from __future__ import annotations

import numpy as np

from methodzoo.shared.errors import UserError

_CHUNK_BITS = 15
_MAX_CHUNKS = 5  # 75 bits: more than any int64 zig-zag code needs


class BitstreamError(UserError):
    """The compressed data is truncated, corrupted, foreign, or from another model."""


def _constriction():  # type: ignore[no-untyped-def]
    import constriction

    return constriction


def _groups(rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(row, positions of that row in ascending order)`` for each distinct row, rows ascending."""
    if rows.size == 0:
        return []
    # Rows are table indices, far below 2^16: on 16-bit keys NumPy's stable sort is a radix sort,
    # about 4x faster than on int64 (the order is the same).
    small = rows.min() >= 0 and rows.max() < 1 << 16
    order = np.argsort(rows.astype(np.uint16) if small else rows, kind="stable")
    ordered = rows[order]
    cuts = (np.flatnonzero(ordered[1:] != ordered[:-1]) + 1).tolist()
    starts, ends = [0, *cuts], [*cuts, len(rows)]
    return [(int(ordered[a]), order[a:b]) for a, b in zip(starts, ends, strict=True)]


class SymbolEncoder:
    """Appends symbols to one range-coded string."""

    def __init__(self) -> None:
        c = _constriction()
        self._coder = c.stream.queue.RangeEncoder()
        self._model = c.stream.model
        self._uniform = c.stream.model.Uniform(1 << (_CHUNK_BITS + 1))

    def encode(self, values: np.ndarray, rows: np.ndarray, pmf: np.ndarray, offsets: np.ndarray,
               lengths: np.ndarray) -> None:
        """Code ``values[i]`` with table row ``rows[i]`` (both flat, int64)."""
        symbols = values + offsets[rows]
        escapes: list[np.ndarray] = []
        for row, selected in _groups(rows):
            s = symbols[selected]
            n_regular = int(lengths[row]) - 1
            escaped = (s < 0) | (s >= n_regular)
            coded = np.where(escaped, n_regular, s).astype(np.int32)
            model = self._model.Categorical(pmf[row, : lengths[row]], perfect=False)
            self._coder.encode(coded, model)
            if escaped.any():
                escapes.append(values[selected][escaped])
        if escapes:
            self._encode_escapes(np.concatenate(escapes))

    def _encode_escapes(self, values: np.ndarray) -> None:
        zigzag = np.where(values >= 0, 2 * values, -2 * values - 1).astype(np.uint64)
        chunks: list[int] = []
        for u in zigzag.tolist():
            while True:
                low = u & ((1 << _CHUNK_BITS) - 1)
                u >>= _CHUNK_BITS
                chunks.append((low << 1) | (1 if u else 0))
                if not u:
                    break
        self._coder.encode(np.asarray(chunks, dtype=np.int32), self._uniform)

    def finish(self) -> bytes:
        return self._coder.get_compressed().astype("<u4").tobytes()


class SymbolDecoder:
    """Reads symbols back from a string written by :class:`SymbolEncoder`."""

    def __init__(self, data: bytes) -> None:
        if len(data) % 4:
            raise BitstreamError("corrupted bitstream: a coded string is not a whole number of 32-bit words")
        c = _constriction()
        self._coder = c.stream.queue.RangeDecoder(np.frombuffer(data, dtype="<u4").astype(np.uint32))
        self._model = c.stream.model
        self._uniform = c.stream.model.Uniform(1 << (_CHUNK_BITS + 1))

    def decode(self, rows: np.ndarray, pmf: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Decode one value for each entry of ``rows`` (in the order the encoder used)."""
        values = np.zeros(rows.shape, dtype=np.int64)
        escaped_positions: list[np.ndarray] = []
        for row, where in _groups(rows):
            n_regular = int(lengths[row]) - 1
            model = self._model.Categorical(pmf[row, : lengths[row]], perfect=False)
            try:
                symbols = np.asarray(self._coder.decode(model, len(where)), dtype=np.int64)
            except (AssertionError, ValueError, RuntimeError) as error:  # constriction rejects the data
                raise BitstreamError(f"corrupted bitstream: {error}") from None
            values[where] = symbols - offsets[row]
            escaped = symbols == n_regular
            if escaped.any():
                escaped_positions.append(where[escaped])
        if escaped_positions:
            positions = np.concatenate(escaped_positions)
            values[positions] = self._decode_escapes(len(positions))
        return values

    def _decode_escapes(self, count: int) -> np.ndarray:
        out = np.zeros(count, dtype=np.int64)
        for i in range(count):
            u, shift = 0, 0
            for _ in range(_MAX_CHUNKS):
                try:
                    chunk = int(self._coder.decode(self._uniform))
                except (AssertionError, ValueError, RuntimeError) as error:
                    raise BitstreamError(f"corrupted bitstream: {error}") from None
                u |= (chunk >> 1) << shift
                shift += _CHUNK_BITS
                if not chunk & 1:
                    break
            else:
                raise BitstreamError("corrupted bitstream: an escaped value is too long")
            if u >= 1 << 62:
                raise BitstreamError("corrupted bitstream: an escaped value is out of range")
            out[i] = u >> 1 if u % 2 == 0 else -(u >> 1) - 1
        return out

    def check_exhausted(self) -> None:
        if not self._coder.maybe_exhausted():
            raise BitstreamError("corrupted bitstream: data left over after decoding")
