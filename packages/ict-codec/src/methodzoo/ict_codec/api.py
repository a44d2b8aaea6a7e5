"""The verbs: compress an image to bytes, decompress bytes to an image, save/load a model, evaluate.

Images are RGB ``uint8`` arrays ``(H, W, 3)`` of any size: they are padded (edge replication) to a
multiple of 64 and the reconstruction is cropped back. ``compress`` writes the container of
:mod:`methodzoo.ict_codec.bitstream`; bpp counts every byte of it, header included.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from methodzoo.ict_codec import bitstream
from methodzoo.ict_codec.coding import BitstreamError
from methodzoo.ict_codec.config import CodecConfig
from methodzoo.ict_codec.model import AICT, ChannelWiseCodec, build_model, model_fingerprint
from methodzoo.shared.errors import UserError
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.timing import timed_call

WEIGHTS_FORMAT = "methodzoo-ict-codec-weights"


def image_to_tensor(image: np.ndarray | torch.Tensor, device: str | torch.device = "cpu") -> torch.Tensor:
    """RGB uint8 ``(H, W, 3)`` (or a float tensor ``(1, 3, H, W)`` in [0, 255]) → ``(1, 3, H, W)`` float."""
    if isinstance(image, torch.Tensor) and image.ndim == 4:
        x = image.to(device=device, dtype=torch.float32)
    else:
        array = np.asarray(image)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise UserError(f"expected an RGB image (H, W, 3), got shape {array.shape}")
        if array.dtype != np.uint8:
            raise UserError(f"expected a uint8 image, got dtype {array.dtype}")
        # A copy: images read by Pillow are read-only arrays, which torch.from_numpy warns about.
        x = torch.from_numpy(np.array(array[:, :, :3], copy=True)).permute(2, 0, 1)[None].to(device, torch.float32)
    if x.shape[1] != 3 or min(x.shape[-2:]) < 1:
        raise UserError(f"expected an RGB image, got tensor shape {tuple(x.shape)}")
    return x.contiguous()


def tensor_to_image(x: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` float → RGB uint8 ``(H, W, 3)`` (rounded and clamped)."""
    return x[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def pad_image(x: torch.Tensor, multiple: int = 64) -> torch.Tensor:
    """Pad the bottom and right edges of ``(B, 3, H, W)`` to multiples of ``multiple`` by edge replication."""
    h, w = x.shape[-2:]
    pad_h, pad_w = (-h) % multiple, (-w) % multiple
    if not pad_h and not pad_w:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate").contiguous()


def _check_scale_factor(model: ChannelWiseCodec, scale_factor: float | None) -> None:
    """Raise a :class:`UserError` unless ``scale_factor`` is ``None`` or an f this AICT can code (in [f_min, f_max])."""
    if scale_factor is None:
        return
    if not isinstance(model, AICT):
        raise UserError(f"scale_factor is AICT's scaling factor f; a {model.config.kind} model has none")
    low, high = model.config.f_min, model.config.f_max
    if not (math.isfinite(scale_factor) and low <= scale_factor <= high):
        raise UserError(f"scale_factor must be in [{low}, {high}] (this model's f_min, f_max), got {scale_factor}")


def reconstruct(model: ChannelWiseCodec, image: np.ndarray | torch.Tensor,
                scale_factor: float | None = None) -> dict[str, Any]:
    """The model's quantised reconstruction in eval mode (what ``decompress`` returns, as floats)
    and the estimated bits ``−Σ log2 p`` of y and z. ``scale_factor``: AICT's f, instead of the predicted one."""
    _check_scale_factor(model, scale_factor)
    device = next(model.parameters()).device
    x = image_to_tensor(image, device)
    h, w = x.shape[-2:]
    with eval_mode(model), torch.no_grad():
        out = model(pad_image(x, model.config.pad_multiple), scale_factor=scale_factor)
    likelihoods = out["likelihoods"]
    bits = {name: float(-torch.log2(p.double()).sum()) for name, p in likelihoods.items()}
    f = out["scale_factor"]
    return {"x_hat": out["x_hat"][..., :h, :w], "bits_y": bits["y"], "bits_z": bits["z"],
            "scale_factor": None if f is None else float(f.item())}


def compress(model: ChannelWiseCodec, image: np.ndarray | torch.Tensor, scale_factor: float | None = None) -> bytes:
    """Code an RGB image into a self-describing byte string (header + range-coded z and y).

    ``scale_factor``: AICT codes with this f (carried in the stream) instead of the one its
    ResizeParamNet predicts; it must lie in the model's [f_min, f_max].
    """
    _check_scale_factor(model, scale_factor)
    device = next(model.parameters()).device
    x = image_to_tensor(image, device)
    h, w = x.shape[-2:]
    if h * w > bitstream.MAX_PIXELS or max(h, w) > bitstream.MAX_SIDE:
        raise UserError(f"image of {h}x{w} is larger than this format allows")
    with eval_mode(model):
        coded = model.compress(pad_image(x, model.config.pad_multiple), scale_factor=scale_factor)
    z_string, y_string = coded["strings"]
    header = bitstream.Header(model.config.kind, model_fingerprint(model), int(h), int(w),
                              coded["scale_factor"], len(z_string), len(y_string))
    return bitstream.pack(header, z_string, y_string)


def decompress_tensor(model: ChannelWiseCodec, data: bytes,
                      max_pixels: int = bitstream.DEFAULT_MAX_PIXELS) -> torch.Tensor:
    """Decode to the float reconstruction ``(1, 3, H, W)`` (equal to :func:`reconstruct`'s ``x_hat``).

    Headers asking for more than ``max_pixels`` pixels are refused before decoding
    (:class:`~methodzoo.ict_codec.bitstream.ImageTooLargeError`).
    """
    model.update()
    f_range = (model.config.f_min, model.config.f_max) if isinstance(model, AICT) else None
    header, z_string, y_string = bitstream.unpack(data, expected_kind=model.config.kind,
                                                  expected_fingerprint=model_fingerprint(model), f_range=f_range,
                                                  max_pixels=max_pixels)
    multiple = model.config.pad_multiple
    padded = (-(-header.height // multiple) * multiple, -(-header.width // multiple) * multiple)
    shape = model.latent_size(*padded, header.scale_factor)
    with eval_mode(model):
        try:
            out = model.decompress([z_string, y_string], shape, header.scale_factor, padded)
        except BitstreamError:
            raise
        except (AssertionError, ValueError, RuntimeError, IndexError, OverflowError) as error:
            raise BitstreamError(f"corrupted bitstream: decoding failed ({error})") from None
    return out["x_hat"][..., : header.height, : header.width]


def decompress(model: ChannelWiseCodec, data: bytes, max_pixels: int = bitstream.DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode bytes written by :func:`compress` with the same model into an RGB uint8 image."""
    return tensor_to_image(decompress_tensor(model, data, max_pixels))


# ----- weights --------------------------------------------------------------------------------
def save_model(path: str | Path, model: ChannelWiseCodec, metadata: dict[str, str] | None = None) -> Path:
    """Save weights, coding tables and config in one safetensors file (tables are built first)."""
    from methodzoo.shared.train import save_weights

    model.update()
    meta = {"format": WEIGHTS_FORMAT, "kind": model.config.kind, **(metadata or {})}
    return save_weights(path, model, config=model.config.to_dict(), metadata=meta)


def load_model(path: str | Path, device: str | torch.device = "cpu") -> ChannelWiseCodec:
    """Rebuild a model from a file written by :func:`save_model` (ready to code: no ``update()``)."""
    import json

    from safetensors import SafetensorError, safe_open

    from methodzoo.shared.train import load_weights

    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = dict(handle.metadata() or {})
    except (SafetensorError, OSError) as error:
        raise UserError(f"cannot read {path} as safetensors weights: {error}") from None
    if meta.get("format") != WEIGHTS_FORMAT or "config" not in meta:
        raise UserError(f"{path} is not an ict-codec weights file (no '{WEIGHTS_FORMAT}' metadata)")
    config = CodecConfig.from_dict(json.loads(meta["config"]))
    model = build_model(config)
    if meta.get("derived_tables_omitted") == "1":
        _load_compact(path, model)
    else:
        load_weights(path, model)
    return model.to(device).eval()


# The Gaussian tables follow from the config alone (rebuilt identically at construction), so
# compact files leave them out; they are 1.6 MB of float64 per model.
DERIVED_TABLES = ("gaussian_conditional.table_pmf", "gaussian_conditional.table_offset",
                  "gaussian_conditional.table_length")


def _load_compact(path: Path, model: ChannelWiseCodec) -> None:
    from safetensors.torch import load_file

    tensors = load_file(str(path))
    missing, unexpected = model.load_state_dict(tensors, strict=False)  # fp16 values are widened to fp32
    if unexpected or set(missing) - set(DERIVED_TABLES):
        raise UserError(f"weights in {path} do not fit this model: missing {sorted(set(missing) - set(DERIVED_TABLES))}, "
                        f"unexpected {sorted(unexpected)}")


# Parameters of these modules stay float32 in a compact file. AICT's ResizeParamNet sets the one
# scale factor f that resamples the whole image, so rounding its few thousand weights moves every
# pixel: it cost the trained AICT quality 3 +0.38 % rate (+0.04 % with this module kept float32).
FLOAT32_MODULES: tuple[str, ...] = ("resize_net",)


def save_compact_model(path: str | Path, model: ChannelWiseCodec, metadata: dict[str, str] | None = None,
                       half: bool = True) -> Path:
    """Save for shipping: without the config-derived Gaussian tables and, with ``half``, the float32
    weights stored as float16 (except those of :data:`FLOAT32_MODULES`). The weights are first
    rounded to float16 in place and the z tables rebuilt from them, so the saved model decodes
    exactly what the in-memory one now codes."""
    from safetensors.torch import save_file

    from methodzoo.shared.io import atomic_write

    keep = _float32_buffers(model) | {name for name, _ in model.named_parameters() if _in_float32_module(name)}
    if half:
        with torch.no_grad():
            for name, tensor in model.named_parameters():
                if name not in keep:
                    tensor.copy_(tensor.half().float())
    model.update(force=True)
    tensors = {}
    for name, value in model.state_dict().items():
        if name in DERIVED_TABLES:
            continue
        value = value.detach().cpu().contiguous()
        if half and value.dtype == torch.float32 and name not in keep:
            value = value.half()
        tensors[name] = value.clone()
    meta = {"format": WEIGHTS_FORMAT, "kind": model.config.kind, "config": model.config.to_json(indent=None),
            "derived_tables_omitted": "1", "dtype": "float16" if half else "float32", **(metadata or {})}
    return atomic_write(path, lambda temp: save_file(tensors, str(temp), metadata=meta))


def _in_float32_module(name: str) -> bool:
    return name.split(".")[0] in FLOAT32_MODULES


def _float32_buffers(model: ChannelWiseCodec) -> set[str]:
    """Float32 buffers (not parameters) keep full precision: coding depends on them bit for bit."""
    parameters = {name for name, _ in model.named_parameters()}
    return {name for name, value in model.state_dict().items() if name not in parameters}


# ----- evaluation -----------------------------------------------------------------------------
def evaluate(model: ChannelWiseCodec, images: Sequence[Any], *, check_exact: bool = True,
             with_ms_ssim: bool = True, scale_factor: float | None = None) -> list[dict[str, Any]]:
    """Code every ``(name, image)`` for real and report actual/estimated bpp, PSNR, MS-SSIM, times.

    With ``check_exact`` the decoded image must equal the eval-mode reconstruction bit for bit.
    MS-SSIM (5 scales, sides > 160 px only) is skipped with ``with_ms_ssim=False``. ``scale_factor``:
    AICT codes with this f instead of the one its ResizeParamNet predicts (as :func:`compress`).
    """
    from methodzoo.shared.metrics import bits_per_pixel, ms_ssim, ms_ssim_db, psnr

    rows = []
    for name, image in images:
        x = image_to_tensor(image)
        pixels = int(x.shape[-2] * x.shape[-1])
        data, encode_s = timed_call(partial(compress, model, image, scale_factor))
        x_dec, decode_s = timed_call(partial(decompress_tensor, model, data))
        ref = reconstruct(model, image, scale_factor)
        exact = bool(torch.equal(ref["x_hat"].cpu(), x_dec.cpu()))
        if check_exact and not exact:
            raise RuntimeError(f"{name}: decoded image differs from the model's reconstruction")
        x_rec = x_dec.clamp(0, 255).round().cpu()
        row = {
            "name": name, "height": int(x.shape[-2]), "width": int(x.shape[-1]),
            "bpp": bits_per_pixel(len(data), pixels),
            "bpp_estimated": (ref["bits_y"] + ref["bits_z"]) / pixels,
            "psnr": float(psnr(x, x_rec)[0]),
            "encode_ms": 1000 * encode_s, "decode_ms": 1000 * decode_s, "exact": exact,
            "scale_factor": ref["scale_factor"],
        }
        if with_ms_ssim and min(x.shape[-2:]) > 160:
            value = float(ms_ssim(x, x_rec)[0])
            row["ms_ssim"] = value
            row["ms_ssim_db"] = ms_ssim_db(value)
        rows.append(row)
    return rows


def summarize(rows: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Means of the numeric columns of :func:`evaluate`."""
    keys = ["bpp", "bpp_estimated", "psnr", "ms_ssim", "ms_ssim_db", "encode_ms", "decode_ms"]
    out = {}
    for key in keys:
        values = [r[key] for r in rows if r.get(key) is not None]
        if values:
            out[key] = float(np.mean(values))
    return out
