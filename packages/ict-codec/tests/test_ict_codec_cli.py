"""The ``methodzoo ict-codec`` commands, end to end through the core's CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from methodzoo.shared.cli import main


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory, train_photos: list[np.ndarray]) -> Path:
    out = tmp_path_factory.mktemp("run")
    data = tmp_path_factory.mktemp("train-images")
    for i, photo in enumerate(train_photos[:2]):
        Image.fromarray(photo[:128, :128]).save(data / f"{i}.png")
    code = main(["ict-codec", "train", "--out", str(out), "--data", str(data), "--kind", "ict", "--preset",
                 "tiny", "--steps", "2",
                 "--batch-size", "2", "--patch-size", "64", "--checkpoint-every", "1", "--lmbda", "0.01",
                 "--loss-form", "compressai"])
    assert code == 0
    return out


def test_train_writes_weights_and_resumable_checkpoints(trained_run: Path) -> None:
    assert (trained_run / "model.safetensors").is_file()
    latest = json.loads((trained_run / "checkpoints" / "latest.json").read_text())
    assert latest["checkpoint"] == "step-00000002.json"


def test_compress_decompress_eval(trained_run: Path, tmp_path: Path, test_crops: list[tuple[str, np.ndarray]],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    weights = str(trained_run / "model.safetensors")
    folder = tmp_path / "images"
    folder.mkdir()
    for name, image in test_crops:
        Image.fromarray(image).save(folder / f"{name}.png")
    source = folder / f"{test_crops[0][0]}.png"
    assert main(["ict-codec", "compress", str(source), str(tmp_path / "a.ict"), "--weights", weights, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["bytes"] == (tmp_path / "a.ict").stat().st_size
    assert main(["ict-codec", "decompress", str(tmp_path / "a.ict"), str(tmp_path / "a.png"), "--weights",
                 weights]) == 0
    capsys.readouterr()
    decoded = np.asarray(Image.open(tmp_path / "a.png"))
    assert decoded.shape == test_crops[0][1].shape
    assert main(["ict-codec", "eval", str(folder), "--weights", weights, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in result["images"]] == sorted(n for n, _ in test_crops)
    assert all(r["exact"] for r in result["images"])
    assert result["mean"]["bpp"] > result["mean"]["bpp_estimated"] * 0.9


def test_user_errors_exit_with_2(trained_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = str(trained_run / "model.safetensors")
    (tmp_path / "junk.ict").write_bytes(b"MZIC" + bytes(100))
    assert main(["ict-codec", "decompress", str(tmp_path / "junk.ict"), str(tmp_path / "o.png"), "--weights",
                 weights]) == 2
    assert "bitstream" in capsys.readouterr().err
    assert main(["ict-codec", "compress", str(tmp_path / "missing.png"), str(tmp_path / "o.ict"), "--weights",
                 weights]) == 2
    assert main(["ict-codec", "compress", str(tmp_path / "junk.ict"), str(tmp_path / "o.ict")]) == 2
    assert "as an image" in capsys.readouterr().err  # shipped weights by default; the input is no image
    assert main(["ict-codec", "compress", str(tmp_path / "junk.ict"), str(tmp_path / "o.ict"), "--weights",
                 weights, "--quality", "2"]) == 2
    assert "--weights or --quality" in capsys.readouterr().err
    assert main(["ict-codec", "eval", str(tmp_path / "nowhere"), "--weights", weights]) == 2
    assert main(["ict-codec", "compress", str(tmp_path / "junk.ict"), str(tmp_path / "o.ict"), "--weights",
                 str(tmp_path / "junk.ict")]) == 2
