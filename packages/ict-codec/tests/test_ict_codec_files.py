"""Files and shipped weights: compress_file/decompress_file, compact fp16 files, the pixel limit,
the shipped models (default, --quality, lookup by fingerprint) and AICT round trips at f != 1."""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from methodzoo.ict_codec import (
    AICT,
    DEFAULT_QUALITY,
    CodecConfig,
    ImageTooLargeError,
    available,
    build_model,
    compress,
    compress_file,
    decompress,
    decompress_file,
    decompress_tensor,
    evaluate,
    load_model,
    load_pretrained,
    reconstruct,
    save_compact_model,
    save_model,
)
from methodzoo.ict_codec.bitstream import HEADER_SIZE, peek
from methodzoo.shared.cli import main
from methodzoo.shared.errors import UserError


def _reseal(data: bytearray) -> bytes:
    """Valid checksums after an edit, as a forger would write them."""
    data[48:52] = zlib.crc32(bytes(data[HEADER_SIZE:])).to_bytes(4, "little")
    data[52:56] = zlib.crc32(bytes(data[:52])).to_bytes(4, "little")
    return bytes(data)


@pytest.fixture(scope="module")
def tiny_ict() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("ict")).eval()
    model.update(force=True)
    return model


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "PPM"])
def test_file_round_trip_reads_png_jpeg_ppm_and_writes_png(fmt: str, tiny_ict: torch.nn.Module, tmp_path: Path,
                                                           test_crops: list[tuple[str, np.ndarray]]) -> None:
    image = test_crops[0][1][:70, :90]
    source = tmp_path / f"in.{fmt.lower()}"
    Image.fromarray(image).save(source, format=fmt)
    read_back = np.asarray(Image.open(source).convert("RGB"))
    sizes = compress_file(source, tmp_path / "x.mzic", model=tiny_ict)
    assert sizes["bytes"] == (tmp_path / "x.mzic").stat().st_size and (sizes["height"], sizes["width"]) == (70, 90)
    decompress_file(tmp_path / "x.mzic", tmp_path / "out.png", model=tiny_ict)
    with Image.open(tmp_path / "out.png") as decoded:
        assert decoded.format == "PNG"
        assert np.array_equal(np.asarray(decoded), decompress(tiny_ict, compress(tiny_ict, read_back)))


def test_compact_fp16_file_decodes_exactly_what_the_rounded_model_codes(tmp_path: Path,
                                                                         test_crops: list[tuple[str, np.ndarray]]
                                                                         ) -> None:
    torch.manual_seed(1)
    model = build_model(CodecConfig.tiny("ict")).eval()
    save_model(tmp_path / "full.safetensors", model)
    save_compact_model(tmp_path / "compact.safetensors", model, half=True)  # rounds `model` in place
    assert (tmp_path / "compact.safetensors").stat().st_size < 0.3 * (tmp_path / "full.safetensors").stat().st_size
    loaded = load_model(tmp_path / "compact.safetensors")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    image = test_crops[1][1][:64, :100]
    data = compress(model, image)
    assert compress(loaded, image) == data  # same fingerprint, same tables, same code
    assert torch.equal(decompress_tensor(loaded, data), reconstruct(model, image)["x_hat"])


def test_compact_aict_keeps_its_scale_factor_network_float32(tmp_path: Path,
                                                             test_crops: list[tuple[str, np.ndarray]]) -> None:
    from safetensors import safe_open

    torch.manual_seed(2)
    model = build_model(CodecConfig.tiny("aict")).eval()
    resize_before = {n: p.clone() for n, p in model.named_parameters() if n.startswith("resize_net.")}
    save_compact_model(tmp_path / "compact.safetensors", model, half=True)
    with safe_open(str(tmp_path / "compact.safetensors"), "pt") as stored:
        dtypes = {name: stored.get_slice(name).get_dtype() for name in stored.keys()}  # noqa: SIM118 (not iterable)
    resize = [n for n in dtypes if n.startswith("resize_net.") and n in resize_before]
    assert resize and all(dtypes[n] == "F32" for n in resize)
    assert all(torch.equal(p, resize_before[n]) for n, p in model.named_parameters() if n in resize_before)
    assert all(dtypes[n] == "F16" for n, p in model.named_parameters() if n.startswith("g_a."))
    image = test_crops[0][1][:64, :64]
    assert compress(load_model(tmp_path / "compact.safetensors"), image) == compress(model, image)


def test_forged_header_asking_for_a_huge_image_fails_fast(tiny_ict: torch.nn.Module,
                                                          test_crops: list[tuple[str, np.ndarray]],
                                                          tmp_path: Path) -> None:
    data = compress(tiny_ict, test_crops[0][1][:64, :64])
    forged = bytearray(data)
    forged[24:28] = (1 << 16).to_bytes(4, "little")  # height 65536
    forged[28:32] = (1 << 12).to_bytes(4, "little")  # width 4096: 2^28 pixels, what the format allows
    forged_bytes = _reseal(forged)
    started = time.perf_counter()
    with pytest.raises(ImageTooLargeError, match="above the decoder's limit"):
        decompress(tiny_ict, forged_bytes)
    assert time.perf_counter() - started < 1.0  # refused before decoding anything
    (tmp_path / "forged.mzic").write_bytes(forged_bytes)
    with pytest.raises(ImageTooLargeError):
        decompress_file(tmp_path / "forged.mzic", tmp_path / "out.png")  # before any model is looked up
    # The limit is configurable both ways.
    with pytest.raises(ImageTooLargeError):
        decompress(tiny_ict, data, max_pixels=64 * 64 - 1)
    assert decompress(tiny_ict, data, max_pixels=64 * 64).shape == (64, 64, 3)


@pytest.mark.parametrize(("resize_mode", "f"), [("warp_same_size", 0.75), ("resize", 1.3)])
def test_aict_round_trip_at_scale_factors_other_than_one(resize_mode: str, f: float,
                                                         test_crops: list[tuple[str, np.ndarray]]) -> None:
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("aict").replace(resize_mode=resize_mode)).eval()
    assert isinstance(model, AICT)
    image = test_crops[0][1][:100, :130]
    data = compress(model, image, scale_factor=f)
    decoded = decompress_tensor(model, data)
    reference = reconstruct(model, image, scale_factor=f)
    assert reference["scale_factor"] == pytest.approx(f)
    assert decoded.shape == (1, 3, 100, 130)
    assert torch.equal(decoded, reference["x_hat"])
    if resize_mode == "resize":  # a true resize codes a latent of the rescaled size
        assert model.latent_size(256, 320, f) != model.latent_size(256, 320, 1.0)


def test_a_scale_factor_the_model_cannot_code_is_refused_before_coding(test_crops: list[tuple[str, np.ndarray]]) -> None:
    torch.manual_seed(0)
    aict = build_model(CodecConfig.tiny("aict")).eval()
    ict = build_model(CodecConfig.tiny("ict")).eval()
    image = test_crops[0][1][:64, :64]
    for f in (0.1, 5.0, float("nan"), float("inf")):  # the decoder would reject f outside [f_min, f_max]
        with pytest.raises(UserError, match="scale_factor must be in"):
            compress(aict, image, scale_factor=f)
    with pytest.raises(UserError, match="a ict model has none"):
        compress(ict, image, scale_factor=1.0)
    with pytest.raises(UserError, match="scale_factor must be in"):
        evaluate(aict, [("x", image)], scale_factor=0.0)
    rows = evaluate(aict, [("x", image)], scale_factor=1.25, with_ms_ssim=False)
    assert rows[0]["exact"] and rows[0]["scale_factor"] == pytest.approx(1.25)


def test_shipped_weights_cover_four_qualities_with_rising_rate(test_crops: list[tuple[str, np.ndarray]]) -> None:
    qualities = sorted(q for kind, q in available() if kind == "ict")
    assert qualities == [1, 2, 3, 4]
    image = test_crops[0][1][:128, :192]
    sizes = [len(compress(load_pretrained(q), image)) for q in qualities]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


def test_shipped_weights_are_ict_and_aict_at_four_qualities_within_20_mb() -> None:
    from methodzoo.ict_codec.pretrained import weights_folder

    assert sorted(available()) == [(kind, q) for kind in ("aict", "ict") for q in (1, 2, 3, 4)]
    assert sum(p.stat().st_size for p in weights_folder().rglob("*") if p.is_file()) <= 20_000_000


def test_cli_uses_shipped_weights_by_default_and_finds_them_again(tmp_path: Path,
                                                                  test_crops: list[tuple[str, np.ndarray]]) -> None:
    image = test_crops[1][1][:96, :96]
    Image.fromarray(image).save(tmp_path / "in.png")
    assert main(["ict-codec", "compress", str(tmp_path / "in.png"), str(tmp_path / "a.mzic")]) == 0
    assert main(["ict-codec", "compress", str(tmp_path / "in.png"), str(tmp_path / "b.mzic"), "--quality", "1"]) == 0
    assert (tmp_path / "a.mzic").read_bytes() == compress(load_pretrained(DEFAULT_QUALITY), image)
    for name in ("a", "b"):  # no --weights: the header names the shipped model
        assert main(["ict-codec", "decompress", str(tmp_path / f"{name}.mzic"), str(tmp_path / f"{name}.png")]) == 0
    quality_one = np.asarray(Image.open(tmp_path / "b.png"))
    assert np.array_equal(quality_one, decompress(load_pretrained(1), (tmp_path / "b.mzic").read_bytes()))
    assert main(["ict-codec", "compress", str(tmp_path / "in.png"), str(tmp_path / "c.mzic"), "--quality", "9"]) == 2
    # The shipped AICT: chosen by --kind, found again from the header.
    assert main(["ict-codec", "compress", str(tmp_path / "in.png"), str(tmp_path / "d.mzic"), "--kind", "aict",
                 "--quality", "2"]) == 0
    assert main(["ict-codec", "decompress", str(tmp_path / "d.mzic"), str(tmp_path / "d.png")]) == 0
    aict = load_pretrained(2, "aict")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "d.png")),
                          decompress(aict, (tmp_path / "d.mzic").read_bytes()))
    # An encoder-chosen f travels in the stream; ICT has no f to choose.
    assert main(["ict-codec", "compress", str(tmp_path / "in.png"), str(tmp_path / "e.mzic"), "--kind", "aict",
                 "--quality", "2", "--scale-factor", "1"]) == 0
    assert peek((tmp_path / "e.mzic").read_bytes()).scale_factor == 1.0
    assert peek((tmp_path / "d.mzic").read_bytes()).scale_factor != 1.0
    assert main(["ict-codec", "compress", str(tmp_path / "in.png"), str(tmp_path / "f.mzic"),
                 "--scale-factor", "1"]) == 2


@pytest.mark.slow
def test_compiled_synthesis_keeps_bitstreams_and_exact_round_trips(test_crops: list[tuple[str, np.ndarray]]) -> None:
    torch.manual_seed(0)
    eager = build_model(CodecConfig.tiny("ict")).eval()
    compiled = build_model(CodecConfig.tiny("ict")).eval()
    compiled.load_state_dict(eager.state_dict())
    compiled.compile_synthesis()
    image = test_crops[0][1][:64, :128]
    data = compress(eager, image)
    assert compress(compiled, image) == data  # the entropy parameters are never compiled
    decoded = decompress_tensor(compiled, data)
    assert torch.equal(decoded, reconstruct(compiled, image)["x_hat"])  # both run the compiled g_s
    assert torch.allclose(decoded, decompress_tensor(eager, data), atol=1e-3)


@pytest.mark.slow
def test_wheel_ships_the_weights(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import zipfile

    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    root = Path(__file__).resolve().parents[3]
    subprocess.run([uv, "build", "--package", "methodzoo-ict-codec", "--wheel", "--out-dir", str(tmp_path)],
                   cwd=root, check=True, capture_output=True, timeout=600)
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [f"methodzoo/ict_codec/weights/ict-q{q}.safetensors" for q in (1, 2, 3, 4)]
    assert set(shipped) <= names
    sizes = [info.file_size for info in zipfile.ZipFile(wheel).infolist() if "/weights/" in info.filename]
    assert sum(sizes) <= 20 * 2**20


def test_fingerprint_and_attention_cache_follow_fused_adam_training(test_crops: list[tuple[str, np.ndarray]]) -> None:
    """Fused Adam does not bump version counters; caches built before training must not survive it."""
    from methodzoo.ict_codec import TrainConfig, fit, model_fingerprint
    from methodzoo.ict_codec.model import _fingerprint

    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("ict")).eval()
    image = test_crops[0][1][:64, :64]
    before = model_fingerprint(model)
    reconstruct(model, image)  # fills the attention-bias caches
    fit(model, [test_crops[0][1]], TrainConfig(steps=2, batch_size=1, patch_size=64, lr=1e-2, checkpoint_every=0),
        progress=False)
    assert model_fingerprint(model) != before
    assert model_fingerprint(model) == _fingerprint(model)
    fresh = build_model(CodecConfig.tiny("ict")).eval()
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(reconstruct(model, image)["x_hat"], reconstruct(fresh, image)["x_hat"])


def test_float16_export_rule_counts_only_losses() -> None:
    from methodzoo.ict_codec.weights_export import float16_loses_nothing

    assert float16_loses_nothing(+0.014, -0.0039)  # better in both: kept (AICT quality 1 of the last release)
    assert float16_loses_nothing(-0.009, +0.0019)
    assert not float16_loses_nothing(-0.011, 0.0)
    assert not float16_loses_nothing(0.0, +0.0021)
