"""Files in, files out: ``compress_file`` reads PNG/JPEG/PPM (anything Pillow reads) and writes a
bitstream; ``decompress_file`` writes a PNG.

    from methodzoo.ict_codec import compress_file, decompress_file
    compress_file("photo.png", "photo.mzic", quality=3)   # shipped ICT weights, quality 1..4
    decompress_file("photo.mzic", "photo-decoded.png")    # finds the shipped model from the header
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from methodzoo.ict_codec import bitstream
from methodzoo.ict_codec.model import ChannelWiseCodec
from methodzoo.shared.errors import UserError


def _model(model: ChannelWiseCodec | None, weights: str | Path | None, quality: int | None,
           kind: str) -> ChannelWiseCodec:
    from methodzoo.ict_codec.api import load_model
    from methodzoo.ict_codec.pretrained import DEFAULT_QUALITY, load_pretrained

    given = [name for name, value in (("model", model), ("weights", weights)) if value is not None]
    if len(given) > 1 or (given and quality is not None):
        raise UserError("pass at most one of model, weights and quality")
    if model is not None:
        return model
    if weights is not None:
        return load_model(weights)
    return load_pretrained(DEFAULT_QUALITY if quality is None else quality, kind)


def compress_file(path_in: str | Path, path_out: str | Path, quality: int | None = None, *,
                  weights: str | Path | None = None, model: ChannelWiseCodec | None = None,
                  kind: str = "ict", scale_factor: float | None = None) -> dict[str, Any]:
    """Code the image file ``path_in`` into the bitstream file ``path_out``.

    The codec is ``model``, or the weights file ``weights``, or the shipped ``kind`` model at
    ``quality`` (default :data:`~methodzoo.ict_codec.pretrained.DEFAULT_QUALITY`). ``scale_factor``:
    AICT codes with this f instead of the predicted one (see :func:`~methodzoo.ict_codec.api.compress`).
    Returns the sizes: ``{"bytes", "height", "width", "bpp"}``.
    """
    from methodzoo.ict_codec.api import compress
    from methodzoo.shared.data import load_image
    from methodzoo.shared.io import atomic_write_bytes

    codec = _model(model, weights, quality, kind)
    image = load_image(path_in)
    data = compress(codec, image, scale_factor)
    atomic_write_bytes(path_out, data)
    h, w = image.shape[:2]
    return {"bytes": len(data), "height": int(h), "width": int(w), "bpp": 8 * len(data) / (h * w)}


def decompress_file(path_in: str | Path, path_out: str | Path, *, weights: str | Path | None = None,
                    model: ChannelWiseCodec | None = None,
                    max_pixels: int = bitstream.DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Decode the bitstream file ``path_in`` into the PNG ``path_out``.

    Without ``model`` or ``weights`` the shipped model that made the bitstream is found from the
    fingerprint in its header. Headers asking for more than ``max_pixels`` pixels are refused before
    decoding. Returns ``{"height", "width"}``.
    """
    from PIL import Image

    from methodzoo.ict_codec.api import decompress
    from methodzoo.ict_codec.pretrained import model_for_bitstream
    from methodzoo.shared.io import atomic_write

    path = Path(path_in)
    if not path.is_file():
        raise UserError(f"bitstream file {path} does not exist")
    data = path.read_bytes()
    if model is None and weights is None:
        header = bitstream.peek(data)
        bitstream.check_pixel_limit(header.height, header.width, max_pixels)  # before loading any model
        codec = model_for_bitstream(data)
    else:
        codec = _model(model, weights, None, "ict")
    image = decompress(codec, data, max_pixels=max_pixels)
    atomic_write(path_out, lambda temp: Image.fromarray(image).save(temp, format="PNG"))
    return {"height": int(image.shape[0]), "width": int(image.shape[1])}
