"""``methodzoo rp-har encode|train|eval`` through the core's ``main``, and its user errors."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from methodzoo.shared.cli import main


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread (per-operation overhead, not arithmetic, dominates)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_encode_writes_a_grid_per_class(tmp_path, capsys):
    png = tmp_path / "grid.png"
    assert main(["rp-har", "encode", "--data", "trend-pairs", "--split", "test", "--image-size", "8",
                 "--per-class", "2", "--out", str(png), "--tensors", str(tmp_path / "images.safetensors"),
                 "--json"]) == 0
    result = _json(capsys)
    assert result["images"] == [144, 6, 8, 8] and len(result["classes"]) == 6
    with Image.open(png) as picture:  # 6 rows; 2 windows × 2 RGB tiles (RP, angle) per row; 2 px padding
        assert picture.size == (4 * 10 + 2, 6 * 10 + 2)
    from safetensors.torch import load_file

    assert tuple(load_file(str(tmp_path / "images.safetensors"))["images"].shape) == (144, 6, 8, 8)


def test_train_then_eval(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["rp-har", "train", "--data", "trend-pairs", "--out", str(out), "--preset", "modrp",
                 "--backbone", "small-cnn", "--width", "4", "--image-size", "8", "--epochs", "1",
                 "--batch-size", "16", "--optimizer", "adam", "--lr", "0.01", "--device", "cpu", "--json"]) == 0
    trained = _json(capsys)
    assert trained["encoding"]["frequency"] == "none" and trained["encoding"]["image_size"] == 8
    assert trained["train_windows"] + trained["val_windows"] == 288
    assert main(["rp-har", "eval", "--checkpoint", str(out), "--device", "cpu", "--json"]) == 0
    evaluated = _json(capsys)
    assert evaluated["n"] == 144 and 0 <= evaluated["accuracy"] <= 1 and len(evaluated["confusion"]) == 6


@pytest.mark.parametrize("argv, message", [
    (["rp-har", "encode", "--data", "nope"], "invalid choice"),
    (["rp-har", "encode", "--dimension", "0"], "dimension must be >= 1"),
    (["rp-har", "train", "--out", "x", "--lr", "-1"], "lr must be positive"),
    (["rp-har", "eval", "--checkpoint", "/nonexistent/run"], "not a saved rp-har model"),
    (["rp-har", "encode", "--data", "uci-har", "--data-root", "/nonexistent"], "UCI HAR"),
])
def test_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
