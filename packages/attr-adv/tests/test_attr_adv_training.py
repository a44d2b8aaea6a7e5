"""Training: pool bookkeeping, a tiny run reaching a stated accuracy, every method, save/load."""

from __future__ import annotations

import pytest
import torch

from methodzoo.attr_adv.config import InnerConfig, PGDConfig, TrainConfig
from methodzoo.attr_adv.data import digits_split
from methodzoo.attr_adv.evaluation import accuracy_on
from methodzoo.attr_adv.pool import pool_epochs, slice_size
from methodzoo.attr_adv.train import fit, load_trained, save_trained
from methodzoo.shared.errors import ConfigError, UserError

TINY = TrainConfig(train_size=300, test_size=200, width=4, epochs=7, epochs_pre=1, aug_freq=3, aug_percentage=0.2,
                   batch_size=50, lr=0.05, device="cpu")


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return digits_split(train_size=1200, test_size=300, seed=0)


def test_pool_grows_by_a_slice_every_aug_freq_epochs(data) -> None:
    assert pool_epochs(TINY) == [1, 4]
    assert slice_size(TINY, 300) == 60
    result = fit(TINY.replace(method="random"), data=digits_split(300, 200), progress=False)
    assert result.pool_sizes == [0, 60, 60, 60, 120, 120, 120]
    assert [s.epoch for s in result.pool_slices] == [1, 4]
    assert all(0.35 < v < 0.65 for s in result.pool_slices for v in s.attribute_mean_abs)  # uniform: E|u| = ½


def test_agat_pool_slices_record_an_improved_objective_and_attributes_pushed_out(data) -> None:
    result = fit(TINY.replace(method="agat", epochs=3), inner=InnerConfig(inner_steps=5), data=digits_split(300, 200),
                 progress=False)
    (record,) = result.pool_slices
    assert record.objective_end > record.objective_start
    assert min(record.attribute_mean_abs) > 0.6  # λ·(MSE + L1)(a₀, a) drives a away from a₀


def test_erm_reaches_90_percent_on_held_out_digits(data) -> None:
    config = TrainConfig(method="erm", width=8, epochs=4, batch_size=32, lr=0.05, device="cpu")
    result = fit(config, data=data, progress=False)
    assert accuracy_on(result.model, data.test_images, data.test_labels) >= 0.9
    assert result.epoch_loss[-1] < result.epoch_loss[0]


@pytest.mark.parametrize("method", ["ce_ascent", "augmix", "pgd"])
def test_every_method_trains(method: str) -> None:
    config = TINY.replace(method=method, epochs=2, epochs_pre=0, aug_freq=1, schedule="online")
    result = fit(config, inner=InnerConfig(inner_steps=2), pgd=PGDConfig(pgd_steps=2), data=digits_split(300, 200),
                 progress=False)
    assert all(torch.isfinite(torch.tensor(result.epoch_loss)))
    assert result.epoch_loss[1] < result.epoch_loss[0]
    assert result.pool_sizes == [0, 0]  # online: nothing pooled


def test_same_seed_same_model_and_a_saved_model_predicts_the_same(tmp_path) -> None:
    small = digits_split(300, 200)
    config = TINY.replace(method="agat", epochs=2, epochs_pre=1)
    first = fit(config, inner=InnerConfig(inner_steps=2), data=small, progress=False)
    second = fit(config, inner=InnerConfig(inner_steps=2), data=small, progress=False)
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        assert torch.equal(a, b)
    save_trained(tmp_path / "run", first)
    loaded = load_trained(tmp_path / "run")
    assert loaded.config == config and loaded.space == first.space
    with torch.no_grad():
        assert torch.equal(loaded.model(small.test_images), first.model.eval()(small.test_images))
    with pytest.raises(UserError, match="config.json"):
        load_trained(tmp_path / "missing")


def test_bad_configs_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="aug_percentage"):
        TrainConfig(aug_percentage=1.5)
    with pytest.raises(ConfigError, match="method"):
        TrainConfig(method="mixup")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="not found"):
        fit(TINY.replace(space_file="/nonexistent/space.json"), progress=False)
