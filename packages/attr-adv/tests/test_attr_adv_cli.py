"""``methodzoo attr-adv train|eval`` through the core's ``main``."""

from __future__ import annotations

import json

import pytest

from methodzoo.shared.cli import main

TINY = ["--train-size", "300", "--test-size", "100", "--width", "4", "--epochs", "3", "--epochs-pre", "1",
        "--aug-freq", "1", "--batch-size", "50", "--lr", "0.05", "--inner-steps", "2", "--device", "cpu"]


def test_train_then_eval_with_plot_and_corruptions(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "agat"
    assert main(["attr-adv", "train", "--method", "agat", "--out", str(out), "--json", *TINY]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["method"] == "agat" and trained["pool_size"] == 2 * 90  # slices at epochs 1 and 2
    assert 0 <= trained["worst"] <= trained["clean"] <= 1
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()

    plot = tmp_path / "shift.png"
    pytest.importorskip("imagecorruptions")
    assert main(["attr-adv", "eval", "--checkpoint", str(out), "--plot", str(plot), "--corruptions",
                 "--severities", "2", "--device", "cpu", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["clean"] == trained["clean"] and evaluated["shift"] == trained["shift"]
    assert {p["attribute"] for p in evaluated["points"]} == {"rotation", "translate_x", "translate_y", "scale"}
    assert len(evaluated["corruptions"]) == 13  # the 15 common ones but glass_blur and fog and all(0 <= v <= 1 for v in evaluated["corruptions"].values())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["attr-adv", "eval", "--checkpoint", str(out), "--grid", "digits-c", "--device", "cpu"]) == 0
    assert "held-out shifts" in capsys.readouterr().out


def test_user_mistakes_exit_2_with_one_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["attr-adv", "eval", "--checkpoint", str(tmp_path / "nothing")]) == 2
    assert "expected config.json" in capsys.readouterr().err
    assert main(["attr-adv", "train", "--out", str(tmp_path), "--aug-percentage", "2"]) == 2
    assert "aug_percentage" in capsys.readouterr().err
    assert main(["attr-adv", "train", "--out", str(tmp_path), "--dataset", "cifar10",
                 "--data-root", str(tmp_path)]) == 2
    assert "cifar-10-batches-py" in capsys.readouterr().err


def test_cifar10_training_and_cifar10c_evaluation_from_local_files(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    """The paper's CIFAR path end to end on tiny files in the standard layouts (ResNet-26, blur + noise)."""
    import numpy as np

    from methodzoo.shared.testing.formats import write_cifar_batches

    rng = np.random.default_rng(0)
    batches = [(f"data_batch_{i}", rng.integers(0, 256, (8, 3072)), rng.integers(0, 10, 8)) for i in range(1, 6)]
    write_cifar_batches(tmp_path / "cifar-10-batches-py", [*batches, ("test_batch", rng.integers(0, 256, (6, 3072)),
                                                                        rng.integers(0, 10, 6))])
    corrupted = tmp_path / "CIFAR-10-C"
    corrupted.mkdir()
    np.save(corrupted / "labels.npy", np.tile(np.arange(2), 5))
    for name in ("gaussian_noise", "spatter"):
        np.save(corrupted / f"{name}.npy", rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8))
    out = tmp_path / "run"
    assert main(["attr-adv", "train", "--dataset", "cifar10", "--data-root", str(tmp_path), "--method", "agat",
                 "--epochs", "2", "--epochs-pre", "1", "--batch-size", "20", "--test-size", "6", "--inner-steps", "1",
                 "--device", "cpu", "--out", str(out), "--json"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["pool_size"] == 12  # 30% of the 40 training images
    assert main(["attr-adv", "eval", "--checkpoint", str(out), "--cifar10c", str(tmp_path), "--severities", "1", "5",
                 "--device", "cpu", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert set(evaluated["cifar10c"]) == {"gaussian_noise@1", "gaussian_noise@5", "spatter@1", "spatter@5"}
    assert "fog" in evaluated["cifar10c_missing"]
    assert {p["attribute"] for p in evaluated["points"]} == {"blur", "noise"}
