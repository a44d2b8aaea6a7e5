"""End to end on real MNIST digits: the split, a tiny training run, exact resume, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from methodzoo.famus import MetaConfig, TrainConfig, fit, prepare_noisy_data
from methodzoo.shared.cli import main
from methodzoo.shared.errors import ConfigError

TINY = TrainConfig(model="mlp", width=32, depth=2, train_size=600, meta_size=50, test_size=500, batch_size=32,
                   meta_batch_size=25, steps=8, eval_every=4, device="cpu")


def test_split_is_disjoint_balanced_and_noisy() -> None:
    data = prepare_noisy_data(TINY)
    assert data.meta_labels.bincount(minlength=10).tolist() == [5] * 10
    train = {tuple(row.flatten()[::7].tolist()) for row in data.train_images}
    meta = {tuple(row.flatten()[::7].tolist()) for row in data.meta_images}
    test = {tuple(row.flatten()[::7].tolist()) for row in data.test_images}
    assert not (train & meta) and not (train & test) and not (meta & test)
    flipped = (data.train_labels != data.train_clean_labels).float().mean()
    assert data.noise.realised_rate == pytest.approx(float(flipped))
    assert 0.25 < data.noise.realised_rate < 0.47  # 0.36 expected for 40% symmetric noise over 600 labels


def test_tiny_run_learns_under_noise() -> None:
    result = fit(TINY.replace(method="famus", steps=60, eval_every=30, rate=0.4),
                 MetaConfig(lr=0.05, budget=2), progress=False)
    assert result.best_accuracy > 0.6  # chance is 0.1
    assert result.meta_step_ms is not None and result.iteration_ms is not None
    assert result.mean_active_layers is not None


def test_resume_reproduces_the_uninterrupted_run(tmp_path: Path) -> None:
    config = TINY.replace(method="famus", checkpoint_every=4)
    straight = fit(config, progress=False, checkpoint_dir=tmp_path / "a")
    fit(config, progress=False, checkpoint_dir=tmp_path / "b", stop_at=4)
    resumed = fit(config, progress=False, checkpoint_dir=tmp_path / "b", resume=True)
    assert resumed.eval_accuracy == straight.eval_accuracy
    from methodzoo.shared.train import load_checkpoint

    a = load_checkpoint(tmp_path / "a").state
    b = load_checkpoint(tmp_path / "b").state
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key])
    for key in a["extra"]["samplers"]:
        assert torch.equal(a["extra"]["samplers"][key], b["extra"]["samplers"][key])
    assert a["extra"]["evaluations"] == b["extra"]["evaluations"]


def test_cli_train_and_noise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["famus", "train", "--method", "mwnet", "--noise", "pairflip", "--rate", "0.4", "--model", "mlp",
                 "--width", "16", "--depth", "2", "--train-size", "300", "--meta-size", "20", "--test-size", "200",
                 "--steps", "3", "--batch-size", "16", "--meta-batch-size", "10", "--device", "cpu",
                 "--out", str(tmp_path), "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["method"] == "mwnet" and result["steps"] == 3
    assert (tmp_path / "latest.json").exists()
    assert main(["famus", "noise", "--noise", "pairflip", "--rate", "0.3", "--samples", "1000", "--json"]) == 0
    noise = json.loads(capsys.readouterr().out)
    assert noise["empirical_transition"][0][0] == pytest.approx(0.7, abs=0.1)


def test_cli_user_errors_exit_2() -> None:
    assert main(["famus", "train", "--rate", "1.5"]) == 2
    assert main(["famus", "train", "--method", "nope"]) == 2
    assert main(["famus", "train", "--resume"]) == 2


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="sampler_depth"):
        MetaConfig(sampler_depth=5)
    with pytest.raises(ConfigError, match="meta_size"):
        prepare_noisy_data(TINY.replace(meta_size=5))


def test_cifar_from_a_local_folder_trains_resnet32(tmp_path: Path) -> None:
    import numpy as np

    from methodzoo.shared.testing import write_cifar_batches

    rng = np.random.default_rng(0)

    def batch(name: str, n: int) -> tuple[str, np.ndarray, np.ndarray]:
        return name, rng.integers(0, 256, (n, 3072), dtype=np.uint8), np.arange(n) % 10

    folder = tmp_path / "cifar-10-batches-py"
    write_cifar_batches(folder, [batch(f"data_batch_{i}", 40) for i in range(1, 6)] + [batch("test_batch", 30)])
    config = TrainConfig(dataset="cifar10", data_root=str(tmp_path), model="resnet32", width=4, train_size=100,
                         meta_size=20, test_size=30, batch_size=8, meta_batch_size=8, steps=2, eval_every=2,
                         method="famus", device="cpu")
    data = prepare_noisy_data(config)
    assert data.train_images.shape == (100, 3, 32, 32) and data.test_images.shape == (30, 3, 32, 32)
    result = fit(config, data=data, progress=False)
    assert result.steps == 2 and 0.0 <= result.last_accuracy <= 1.0


def test_missing_cifar_names_the_expected_layout(tmp_path: Path) -> None:
    from methodzoo.shared.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="cifar-10-batches-py"):
        prepare_noisy_data(TINY.replace(dataset="cifar10", data_root=str(tmp_path)))
