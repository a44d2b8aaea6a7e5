"""Training: a tiny run lowers the loss, resume reproduces the uninterrupted run, one-step stage."""

from __future__ import annotations

import math

import pytest
import torch

from methodzoo.cud import (
    CUDConfig,
    NetworkConfig,
    OneStepConfig,
    OneStepDistillation,
    TrainConfig,
    distill_one_step,
    fit,
    load_trained,
    load_training_data,
    sample,
)
from methodzoo.cud.data import TrainingData, images_to_model
from methodzoo.shared.errors import ConfigError, DataNotFoundError
from methodzoo.shared.testing import write_cifar_batches

TINY_MLP = NetworkConfig.mlp(width=64, depth=2, dropout=0.0)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_tiny_cud_run_lowers_the_loss_and_sample_moves_towards_data():
    data = load_training_data("8gaussians")
    run = fit(data, CUDConfig(order=2), TINY_MLP,
              TrainConfig(steps=300, batch_size=128, lr=2e-3, ema_decay=0.9), progress=False)
    losses = run.history.loss
    assert _mean(losses[-30:]) < 0.8 * _mean(losses[:30])
    samples = sample(run.sampling_model, 512, steps=8, generator=torch.Generator().manual_seed(0)).samples
    radius = samples.norm(dim=1)
    # The 8 modes sit at radius 2; N(0, I) has mean radius √(π/2) ≈ 1.25.
    assert abs(radius.mean().item() - 2.0) < 0.5 < abs(math.sqrt(math.pi / 2) - 2.0)


@pytest.mark.parametrize("teacher", ["online", "ema"])
def test_resume_reproduces_the_uninterrupted_loss_curve_on_toys(tmp_path, teacher):
    data = load_training_data("moons")
    cud = CUDConfig(order=2, teacher=teacher)
    network = NetworkConfig.mlp(width=32, depth=2, dropout=0.1)  # dropout draws come from the global RNG
    train = TrainConfig(steps=12, batch_size=32, lr=1e-3, ema_decay=0.9, seed=3)
    whole = fit(data, cud, network, train, progress=False)
    fit(data, cud, network, train, checkpoint_dir=tmp_path, stop_at=5, progress=False)
    resumed = fit(data, cud, network, train, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert resumed.history.steps == list(range(12))
    assert resumed.history.loss == whole.history.loss
    for a, b in zip(whole.model.parameters(), resumed.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_resume_reproduces_the_loss_curve_on_images_with_epoch_batches(tmp_path):
    g = torch.Generator().manual_seed(0)
    images = images_to_model(torch.randint(0, 256, (40, 8, 8), generator=g, dtype=torch.uint8))
    data = TrainingData("random-8x8", (1, 8, 8), images=images)
    network = NetworkConfig.tiny_unet().replace(model_channels=8, encoder_channels=8, dropout=0.1)
    train = TrainConfig(steps=6, batch_size=8, lr=1e-3, ema_decay=0.9, warmup_steps=3)
    whole = fit(data, CUDConfig(), network, train, progress=False)
    fit(data, CUDConfig(), network, train, checkpoint_dir=tmp_path, stop_at=4, progress=False)
    resumed = fit(data, CUDConfig(), network, train, checkpoint_dir=tmp_path, resume=True, progress=False)
    assert resumed.history.loss == whole.history.loss
    loaded = load_trained(tmp_path)
    assert loaded.step == 6 and loaded.used_ema
    for a, b in zip(loaded.model.parameters(), resumed.ema_model.parameters(), strict=True):  # type: ignore[union-attr]
        torch.testing.assert_close(a, b)


def test_one_step_stage_curriculum_and_lower_loss():
    data = load_training_data("8gaussians")
    run = fit(data, CUDConfig.flow_matching(), TINY_MLP,
              TrainConfig(steps=200, batch_size=128, lr=2e-3, ema_decay=0.9), progress=False)
    config = OneStepConfig(stage_indices=(4, 8), trajectory_steps=8, steps_per_stage=60, num_trajectories=512)
    assert [OneStepDistillation(config).stage_index(s) for s in (0, 59, 60, 119, 500)] == [4, 4, 8, 8, 8]
    result = distill_one_step(run.sampling_model, config,
                              TrainConfig(steps=1, batch_size=128, lr=1e-3, ema_decay=0.9), progress=False)
    distill = result.history.values["loss_distill"]
    assert len(distill) == 120
    assert _mean(distill[-15:]) < _mean(distill[60:75])  # the last stage's loss goes down
    with pytest.raises(ConfigError, match="float32"):
        OneStepDistillation(OneStepConfig(trajectory_storage="uint8")).storage_is_uint8((2,))


def test_uint8_trajectory_storage_round_trip():
    stage = OneStepDistillation(OneStepConfig(trajectory_storage="uint8", stage_indices=(1,),
                                              trajectory_steps=1, num_trajectories=4))
    from methodzoo.cud import build_model

    model = build_model((1, 8, 8), NetworkConfig.tiny_unet().replace(model_channels=8, encoder_channels=8))
    trajectories = stage.make_trajectories(model, torch.Generator().manual_seed(0))
    assert trajectories.quantized and trajectories.states[1].dtype == torch.uint8
    target = trajectories.target(1, torch.arange(4))
    assert target.min() >= -1 and target.max() <= 1


def test_cifar_from_a_local_folder_and_clear_error(tmp_path):
    g = torch.Generator().manual_seed(0)
    batches = [(f"data_batch_{i}", torch.randint(0, 256, (3, 3072), generator=g).numpy(), [0, 1, 2])
               for i in range(1, 6)]
    write_cifar_batches(tmp_path / "cifar-10-batches-py", batches)
    data = load_training_data("cifar10", root=tmp_path)
    assert data.data_shape == (3, 32, 32) and data.images is not None and len(data.images) == 15
    assert data.images.min() >= -1 and data.images.max() <= 1
    with pytest.raises(DataNotFoundError):
        load_training_data("cifar10", root=tmp_path / "missing")
    with pytest.raises(ConfigError, match="valid"):
        load_training_data("imagenet")


def test_mnist_digits_offline():
    data = load_training_data("mnist-digits", limit=100)
    assert data.data_shape == (1, 28, 28) and data.images is not None and len(data.images) == 100
    assert data.images.min() == -1 and data.images.max() == 1
