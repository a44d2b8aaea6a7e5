"""The container around the coded strings: a versioned, checksummed 56-byte header.

Layout (little-endian)::

    offset size field
    0      4    magic b"MZIC"
    4      1    format version (1)
    5      1    model kind (index into KINDS: conv-charm, swint-charm, ict, aict)
    6      1    flags (bit 0: a scaling factor f is present)
    7      1    reserved, 0
    8      16   model fingerprint: SHA-256 of the config and every weight and table, truncated
    24     4    image height (before padding)
    28     4    image width
    32     8    scaling factor f (float64; 0 when absent)
    40     4    length of the z string in bytes
    44     4    length of the y string in bytes
    48     4    CRC-32 of the payload (z string then y string)
    52     4    CRC-32 of bytes 0..51
    56     ...  payload

Reading checks, in order, each with its own error: length, magic, version, header checksum, model
kind and fingerprint, image size, f, payload length, payload checksum.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

from methodzoo.ict_codec.coding import BitstreamError
from methodzoo.ict_codec.config import KINDS

MAGIC = b"MZIC"
FORMAT_VERSION = 1
_LAYOUT = struct.Struct("<4sBBBB16sIIdIII")
_CRC = struct.Struct("<I")
HEADER_SIZE = _LAYOUT.size + _CRC.size
MAX_SIDE = 1 << 16
MAX_PIXELS = 1 << 28  # what the format can describe
DEFAULT_MAX_PIXELS = 1 << 26  # what a decoder accepts unless told otherwise (~67 Mpx, e.g. 8192x8192)


class ImageTooLargeError(BitstreamError):
    """The header asks for an image above the decoder's pixel limit (checked before any allocation)."""


@dataclass(frozen=True)
class Header:
    kind: str
    fingerprint: bytes
    height: int
    width: int
    scale_factor: float | None
    z_length: int
    y_length: int


def pack(header: Header, z_string: bytes, y_string: bytes) -> bytes:
    """Header + payload as one byte string."""
    payload = z_string + y_string
    flags = 1 if header.scale_factor is not None else 0
    fields = _LAYOUT.pack(MAGIC, FORMAT_VERSION, KINDS.index(header.kind), flags, 0, header.fingerprint,
                          header.height, header.width, header.scale_factor or 0.0, len(z_string), len(y_string),
                          zlib.crc32(payload))
    return fields + _CRC.pack(zlib.crc32(fields)) + payload


def check_pixel_limit(height: int, width: int, max_pixels: int) -> None:
    """Raise :class:`ImageTooLargeError` when ``height × width`` exceeds ``max_pixels``."""
    if height * width > max_pixels:
        raise ImageTooLargeError(
            f"bitstream asks for a {height}x{width} image ({height * width} pixels), above the decoder's limit "
            f"of {max_pixels} pixels; raise max_pixels (CLI: --max-pixels) if you trust this file")


def _as_bytes(data: bytes) -> bytes:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise BitstreamError(f"expected bytes, got {type(data).__name__}")
    return bytes(data)


def _checked_header_fields(data: bytes) -> tuple[int, int, bytes, int, int, float, int, int, int]:
    """The header's fields after magic, version, header checksum and model kind are checked:
    (kind index, flags, fingerprint, height, width, f, z length, y length, payload checksum)."""
    if len(data) < HEADER_SIZE:
        raise BitstreamError(f"truncated bitstream: {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header")
    fields = data[: _LAYOUT.size]
    magic, version, kind_index, flags, _reserved, fingerprint, height, width, f, z_len, y_len, payload_crc = (
        _LAYOUT.unpack(fields))
    if magic != MAGIC:
        raise BitstreamError(f"not an ict-codec bitstream (magic {magic!r}, expected {MAGIC!r})")
    if version != FORMAT_VERSION:
        raise BitstreamError(f"unsupported bitstream format version {version} (this reader knows {FORMAT_VERSION})")
    (header_crc,) = _CRC.unpack(data[_LAYOUT.size : HEADER_SIZE])
    if zlib.crc32(fields) != header_crc:
        raise BitstreamError("corrupted bitstream: the header checksum does not match")
    if kind_index >= len(KINDS):
        raise BitstreamError(f"corrupted bitstream: unknown model kind {kind_index}")
    return kind_index, flags, fingerprint, height, width, f, z_len, y_len, payload_crc


def unpack(data: bytes, *, expected_kind: str, expected_fingerprint: bytes,
           f_range: tuple[float, float] | None,
           max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[Header, bytes, bytes]:
    """Validate ``data`` and split it into (header, z string, y string); BitstreamError otherwise.

    A header asking for more than ``max_pixels`` pixels raises :class:`ImageTooLargeError` before
    anything is decoded or allocated (a forged header can carry valid checksums).
    """
    data = _as_bytes(data)
    kind_index, flags, fingerprint, height, width, f, z_len, y_len, payload_crc = _checked_header_fields(data)
    kind = KINDS[kind_index]
    if kind != expected_kind:
        raise BitstreamError(f"bitstream was made by a {kind} model, but this model is {expected_kind}")
    if fingerprint != expected_fingerprint:
        raise BitstreamError(
            f"bitstream was made by another {kind} model (weights fingerprint {fingerprint.hex()}, this model "
            f"has {expected_fingerprint.hex()}); decode with the weights that encoded it")
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE and height * width <= MAX_PIXELS):
        raise BitstreamError(f"corrupted bitstream: implausible image size {height}x{width}")
    check_pixel_limit(height, width, max_pixels)
    scale_factor: float | None = None
    if flags & 1:
        if f_range is None:
            raise BitstreamError("corrupted bitstream: a scaling factor is present but this model has none")
        if not (math.isfinite(f) and f_range[0] <= f <= f_range[1]):
            raise BitstreamError(f"corrupted bitstream: scaling factor {f} outside [{f_range[0]}, {f_range[1]}]")
        scale_factor = f
    elif f_range is not None:
        raise BitstreamError("corrupted bitstream: the scaling factor f is missing")
    payload = data[HEADER_SIZE:]
    if len(payload) != z_len + y_len:
        what = "truncated" if len(payload) < z_len + y_len else "corrupted (trailing data)"
        raise BitstreamError(f"{what} bitstream: the payload has {len(payload)} bytes, the header says "
                             f"{z_len + y_len}")
    if zlib.crc32(payload) != payload_crc:
        raise BitstreamError("corrupted bitstream: the payload checksum does not match")
    header = Header(kind, fingerprint, height, width, scale_factor, z_len, y_len)
    return header, payload[:z_len], payload[z_len:]


def peek(data: bytes) -> Header:
    """The header of ``data`` (magic, version and header checksum checked; payload not read)."""
    kind_index, flags, fingerprint, height, width, f, z_len, y_len, _ = _checked_header_fields(_as_bytes(data))
    return Header(KINDS[kind_index], fingerprint, height, width, f if flags & 1 else None, z_len, y_len)
