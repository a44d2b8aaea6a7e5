"""The ``methodzoo cud`` CLI through the core's ``main``: train, resume, sample, eval, distill, errors."""

from __future__ import annotations

import json

import pytest

from methodzoo.shared.cli import main


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_train_resume_sample_eval_distill(tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--width", "32", "--depth", "2", "--dropout", "0", "--batch-size", "64", "--ema-decay", "0.9"]
    assert main(["cud", "train", "--data", "gmm", "--out", str(out), "--steps", "20", "--order", "2",
                 "--json", *tiny]) == 0
    first = _json(capsys)
    assert first["step"] == 20 and first["cud"]["order"] == 2 and first["network"]["width"] == 32
    assert main(["cud", "train", "--data", "gmm", "--out", str(out), "--steps", "30", "--order", "2",
                 "--resume", "--json", *tiny]) == 0
    assert _json(capsys)["step"] == 30

    png = tmp_path / "samples.png"
    assert main(["cud", "sample", "--checkpoint", str(out), "--n", "50", "--steps", "3", "--solver", "heun",
                 "--head", "2", "--out", str(png), "--json"]) == 0
    sampled = _json(capsys)
    assert sampled["nfe"] == 3 and sampled["weights"] == "ema"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["cud", "eval", "--checkpoint", str(out), "--steps", "1", "4", "--n", "200", "--json"]) == 0
    rows = _json(capsys)["rows"]
    assert [r["steps"] for r in rows] == [1, 4]
    assert all(r["swd"] > 0 and r["nll"] == r["nll"] for r in rows)

    student = tmp_path / "student"
    assert main(["cud", "distill", "--checkpoint", str(out), "--out", str(student), "--trajectory-steps", "4",
                 "--stage-indices", "2", "4", "--steps-per-stage", "5", "--num-trajectories", "128",
                 "--batch-size", "32", "--ema-decay", "0.9", "--json"]) == 0
    assert _json(capsys)["step"] == 10
    assert main(["cud", "sample", "--checkpoint", str(student), "--n", "20", "--steps", "1",
                 "--out", str(tmp_path / "one.png")]) == 0


def test_image_training_writes_a_grid(tmp_path, capsys):
    out = tmp_path / "digits"
    assert main(["cud", "train", "--data", "sklearn-digits", "--limit", "64", "--network", "tiny-unet",
                 "--model-channels", "8", "--encoder-channels", "8", "--out", str(out), "--steps", "2",
                 "--batch-size", "16", "--method", "fm"]) == 0
    capsys.readouterr()
    grid = tmp_path / "grid.png"
    assert main(["cud", "sample", "--checkpoint", str(out), "--n", "4", "--steps", "1", "--raw",
                 "--out", str(grid), "--json"]) == 0
    assert _json(capsys)["weights"] == "raw"
    from PIL import Image

    with Image.open(grid) as picture:
        assert picture.size == (2 * (2 * 10 + 2), 2 * (2 * 10 + 2))  # 2×2 grid of 8 px + 2 px padding, ×2


@pytest.mark.parametrize("argv, message", [
    (["cud", "train", "--data", "nope", "--out", "x"], "unknown data set"),
    (["cud", "train", "--data", "gmm", "--out", "x", "--omega1", "-1"], "omega1"),
    (["cud", "sample", "--checkpoint", "/nonexistent/run"], "does not exist"),
    (["cud", "sample", "--checkpoint", "/nonexistent/run", "--solver", "rk9"], "invalid choice"),
])
def test_user_errors_exit_2_with_one_line(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_heun_even_steps_is_a_user_error(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["cud", "train", "--data", "moons", "--out", str(out), "--steps", "2", "--width", "8",
                 "--depth", "1", "--batch-size", "8"]) == 0
    assert main(["cud", "sample", "--checkpoint", str(out), "--steps", "4", "--solver", "heun",
                 "--out", str(tmp_path / "x.png")]) == 2
    assert "odd" in capsys.readouterr().err


def test_presets_and_flags_merge(tmp_path, capsys):
    out = tmp_path / "fm"
    assert main(["cud", "train", "--data", "moons", "--method", "fm", "--out", str(out), "--steps", "1",
                 "--width", "8", "--depth", "1", "--batch-size", "8", "--json"]) == 0
    result = _json(capsys)
    # --method fm: ω1 = 0 and the independent coupling; explicit flags still apply on top.
    assert result["cud"]["omega1"] == 0.0 and result["cud"]["coupling"] == "independent"
    assert result["network"]["kind"] == "mlp" and result["network"]["width"] == 8
    from methodzoo.cud.cli import network_preset
    from methodzoo.shared.presets import apply_changed_flags

    preset = network_preset("auto", (1, 28, 28))
    assert preset.model_channels == 32 and preset.num_blocks == 2  # the paper's MNIST network
    assert network_preset("auto", (3, 32, 32)).attention_resolutions == (16,)
    import argparse

    merged = apply_changed_flags(preset, argparse.Namespace(model_channels=16, num_blocks=2, dropout=0.13))
    assert merged.model_channels == 16 and merged.num_blocks == 2 and merged.kind == "unet"
