"""Real coding: bit-exact round trips, rate vs estimate, checkpoints, and a fuzzed decoder."""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from methodzoo.ict_codec import (
    BitstreamError,
    CodecConfig,
    build_model,
    compress,
    decompress,
    decompress_tensor,
    load_model,
    model_fingerprint,
    reconstruct,
    save_model,
)
from methodzoo.ict_codec.bitstream import HEADER_SIZE
from methodzoo.ict_codec.config import KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_decoded_image_equals_the_models_quantised_reconstruction(kind: str,
                                                                  test_crops: list[tuple[str, np.ndarray]]) -> None:
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny(kind)).eval()
    image = test_crops[0][1][:75, :130]  # odd size: padded to 128 x 192, cropped back
    data = compress(model, image)
    assert compress(model, image) == data  # deterministic encoder
    decoded = decompress_tensor(model, data)
    reference = reconstruct(model, image)["x_hat"]
    assert decoded.shape == (1, 3, 75, 130)
    assert torch.equal(decoded, reference)
    assert np.array_equal(decompress(model, data), decoded[0].clamp(0, 255).round().byte().permute(1, 2, 0).numpy())


def test_actual_bits_within_a_few_percent_of_the_estimate(trained_ict: torch.nn.Module,
                                                         test_crops: list[tuple[str, np.ndarray]]) -> None:
    for _, image in test_crops:
        data = compress(trained_ict, image)
        ref = reconstruct(trained_ict, image)
        estimate = ref["bits_y"] + ref["bits_z"]
        payload_bits = 8 * (len(data) - HEADER_SIZE)
        assert estimate > 2000  # not a trivially small latent
        assert abs(payload_bits / estimate - 1) < 0.03, (payload_bits, estimate)


def test_training_lowers_the_loss(trained_ict: torch.nn.Module) -> None:
    before, after = trained_ict.fixed_batch_loss
    assert after < 0.8 * before, (before, after)
    assert len(trained_ict.history.loss) == 40


def test_checkpoint_round_trip_needs_no_update(trained_ict: torch.nn.Module, tmp_path: Path,
                                               test_crops: list[tuple[str, np.ndarray]]) -> None:
    path = save_model(tmp_path / "model.safetensors", trained_ict)
    loaded = load_model(path)
    assert model_fingerprint(loaded) == model_fingerprint(trained_ict)
    assert loaded.entropy_bottleneck.tables_current()
    image = test_crops[1][1]
    data = compress(trained_ict, image)
    assert compress(loaded, image) == data
    assert np.array_equal(decompress(loaded, data), decompress(trained_ict, data))


def test_decoding_is_identical_in_a_fresh_process(trained_ict: torch.nn.Module, tmp_path: Path,
                                                  test_crops: list[tuple[str, np.ndarray]]) -> None:
    path = save_model(tmp_path / "model.safetensors", trained_ict)
    image = test_crops[0][1]
    data = compress(trained_ict, image)
    (tmp_path / "image.bin").write_bytes(data)
    code = (
        "import sys, numpy as np\n"
        "from methodzoo.ict_codec import load_model, decompress, compress\n"
        f"m = load_model({str(path)!r})\n"
        f"data = open({str(tmp_path / 'image.bin')!r}, 'rb').read()\n"
        "out = decompress(m, data)\n"
        f"np.save({str(tmp_path / 'out.npy')!r}, out)\n"
        f"open({str(tmp_path / 're.bin')!r}, 'wb').write(compress(m, out))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert np.array_equal(np.load(tmp_path / "out.npy"), decompress(trained_ict, data))
    assert (tmp_path / "re.bin").read_bytes() == compress(trained_ict, decompress(trained_ict, data))


def test_bitstream_from_another_model_is_rejected(test_crops: list[tuple[str, np.ndarray]]) -> None:
    torch.manual_seed(0)
    first = build_model(CodecConfig.tiny("ict")).eval()
    second = build_model(CodecConfig.tiny("ict")).eval()  # same architecture, other weights
    other_kind = build_model(CodecConfig.tiny("swint-charm")).eval()
    data = compress(first, test_crops[0][1][:64, :64])
    with pytest.raises(BitstreamError, match="another ict model"):
        decompress(second, data)
    with pytest.raises(BitstreamError, match="made by a ict model"):
        decompress(other_kind, data)


def _with_valid_checksums(data: bytearray) -> bytes:
    """Re-seal a mutated stream so the decoder's inner checks (not just the CRCs) are exercised."""
    payload = bytes(data[HEADER_SIZE:])
    data[48:52] = zlib.crc32(payload).to_bytes(4, "little")
    data[52:56] = zlib.crc32(bytes(data[:52])).to_bytes(4, "little")
    return bytes(data)


def test_fuzzed_decoder_raises_clear_errors_and_never_crashes(trained_ict: torch.nn.Module,
                                                              test_crops: list[tuple[str, np.ndarray]]) -> None:
    rng = np.random.default_rng(1234)
    image = test_crops[1][1][:100, :120]
    data = compress(trained_ict, image)
    cases: list[bytes] = [b"", b"MZIC", bytes(rng.integers(0, 256, 300, dtype=np.uint8)), b"\x89PNG" + data[4:],
                          data + b"\x00", data[:-1], data[: HEADER_SIZE + 3]]
    cases += [data[: int(rng.integers(0, len(data)))] for _ in range(10)]
    for _ in range(25):  # random bit flips anywhere: caught by the checksums
        mutated = bytearray(data)
        for position in rng.integers(0, len(data), int(rng.integers(1, 4))):
            mutated[position] ^= 1 << int(rng.integers(0, 8))
        cases.append(bytes(mutated))
    for case in cases:
        with pytest.raises(BitstreamError):
            decompress(trained_ict, case)
    # Payload garbage with re-sealed checksums: a clear error or an image of the right shape.
    for _ in range(15):
        mutated = bytearray(data)
        start = int(rng.integers(HEADER_SIZE, len(data)))
        mutated[start:] = rng.integers(0, 256, len(data) - start, dtype=np.uint8).tobytes()
        try:
            out = decompress(trained_ict, _with_valid_checksums(mutated))
        except BitstreamError:
            continue
        assert out.shape == image.shape and out.dtype == np.uint8
    with pytest.raises(BitstreamError):
        decompress(trained_ict, "not bytes")  # type: ignore[arg-type]


def test_cached_fingerprint_follows_every_weight_change(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = build_model(CodecConfig.tiny("ict")).eval()
    first = model_fingerprint(model)
    assert model_fingerprint(model) == first  # served from the cache
    with torch.no_grad():
        model.g_s.splits[-1].expand.bias.add_(1e-3)  # an in-place change (as an optimizer step makes)
    changed = model_fingerprint(model)
    assert changed != first
    other = build_model(CodecConfig.tiny("ict"))
    other.load_state_dict(model.state_dict())
    assert model_fingerprint(other) == changed
    model.load_state_dict(build_model(CodecConfig.tiny("ict")).state_dict())  # copies into the same tensors
    assert model_fingerprint(model) not in (first, changed)
    assert model.entropy_bottleneck.update() is True  # the density changed: tables rebuilt, not cached
