"""Training end to end on BasicMotions, the "cared branch only" update, and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from methodzoo.greedy_mm import (
    BalanceConfig,
    GuidedBalancer,
    LearningSpeedTracker,
    ModelConfig,
    PairedTensors,
    TrainConfig,
    TwoModalityData,
    basic_motions_pair,
    build_network,
    fit,
    train_step,
)
from methodzoo.shared.cli import main
from methodzoo.shared.seed import seeded


@pytest.fixture(scope="module")
def motions():  # type: ignore[no-untyped-def]
    return basic_motions_pair()


def _model(data, seed: int = 0):  # type: ignore[no-untyped-def]
    with seeded(seed):
        return build_network(ModelConfig(width=8, kernel_size=3), data.example_inputs(), data.num_classes)


@pytest.mark.parametrize("method", ["vanilla", "balanced"])
def test_basic_motions_reaches_high_test_accuracy(motions, method: str) -> None:  # type: ignore[no-untyped-def]
    logs = []
    result = fit(_model(motions), motions, balance=BalanceConfig(method=method),  # type: ignore[arg-type]
                 train=TrainConfig(epochs=10, batch_size=8, lr=0.05, stop_after_perfect=0, utilization_every=5),
                 device="cpu", on_epoch=logs.append)
    assert len(result.history) == 10 and logs == result.history
    assert result.last.evaluation["test"]["acc"] >= 0.8  # measured 0.88-1.0 over seeds 0-1
    assert math.isfinite(result.last.d_speed) and result.last.utilization is not None
    assert [log.utilization is not None for log in result.history] == [(e + 1) % 5 == 0 for e in range(10)]
    fractions = result.balancer.mode_fractions()
    if method == "vanilla":
        assert fractions["regular"] == 1.0
    else:
        assert fractions["regular"] < 0.5  # α = 0.01 is crossed almost always: windows dominate
        assert all(log.modes["regular"] == 1.0 for log in result.history[:1])  # epoch 1: no balancing


def test_training_stops_after_perfect_epochs() -> None:
    # an easy task: the class sets the level of both modalities' series
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(32) % 2
    level = (2.0 * labels - 1.0)[:, None, None]
    data = TwoModalityData("easy", PairedTensors(level + 0.1 * torch.randn(32, 1, 6, generator=generator),
                                                 level + 0.1 * torch.randn(32, 2, 6, generator=generator), labels),
                           {}, ("a", "b"), ("m0", "m1"))
    result = fit(_model(data), data, balance=BalanceConfig(method="vanilla"),
                 train=TrainConfig(epochs=40, batch_size=8, lr=0.1, stop_after_perfect=2), device="cpu")
    perfect = [log.epoch for log in result.history if log.train_acc >= 1.0]
    assert result.stopped_early and len(perfect) == 2 and result.history[-1].epoch == perfect[-1]


@pytest.mark.parametrize("update, cared", [("cared_branch_only", 0), ("cared_branch_only", 1), ("all", 1)])
def test_rebalancing_update_touches_the_expected_parameters(motions, update: str, cared: int) -> None:  # type: ignore[no-untyped-def]
    model = _model(motions)
    model.train()
    x0, x1, labels = motions.train.batch(torch.arange(8))
    model(x0, x1)  # one training forward gives the running gates
    balancer = GuidedBalancer(LearningSpeedTracker(model))
    balancer.cared = cared
    balancer.apply(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    train_step(model, optimizer, balancer, (x0, x1, labels), update)
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    if update == "all":
        assert any(n.startswith("fusions.") for n in changed) and any(n.startswith("branches.0.") for n in changed)
    else:
        assert changed and all(n.startswith(f"branches.{cared}.") for n in changed)


def test_cli_train_then_utilization(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "run"
    assert main(["greedy-mm", "train", "--dataset", "basic-motions", "--method", "random", "--epochs", "3",
                 "--batch-size", "8", "--width", "4", "--starting-epoch", "2", "--out", str(out), "--json",
                 "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["epochs"] == 3 and len(result["history"]) == 3
    assert result["configs"]["balance"]["method"] == "random"
    assert captured.err.count("epoch ") == 3  # per-epoch lines go to stderr with --json
    assert {p.name for p in out.iterdir()} >= {"model.safetensors", "run.json", "curves.png"}
    assert main(["greedy-mm", "utilization", "--checkpoint", str(out), "--json", "--device", "cpu"]) == 0
    rates = json.loads(capsys.readouterr().out)["rates"]["test"]
    # the reloaded model reproduces the training run's last utilization measurement
    assert rates["d_util"] == pytest.approx(result["final"]["utilization"]["d_util"])
    assert rates["acc_ensemble"] == pytest.approx(result["final"]["evaluation"]["test"]["acc"])


@pytest.mark.parametrize("argv, message", [
    (["greedy-mm", "train", "--rho", "2"], "rho must be in [0, 1]"),
    (["greedy-mm", "train", "--dataset", "modelnet40"], "pass --root"),
    (["greedy-mm", "train", "--dataset", "nvgesture", "--root", "/nonexistent/nv"], "not a folder"),
    (["greedy-mm", "train", "--window", "0"], "window must be >= 1"),
    (["greedy-mm", "utilization", "--checkpoint", "/nonexistent/run"], "not a greedy-mm run"),
])
def test_user_errors_exit_2_with_one_line(argv: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_per_epoch_statistics_subset_and_full_last_epoch(motions) -> None:  # type: ignore[no-untyped-def]
    result = fit(_model(motions), motions, balance=BalanceConfig(method="vanilla"),  # type: ignore[arg-type]
                 train=TrainConfig(epochs=2, batch_size=8, stop_after_perfect=0, statistics_samples=10), device="cpu")
    assert [log.utilization["train_samples"] for log in result.history] == [10, 40]  # type: ignore[index]
    assert result.statistics is not None and result.statistics.count == 40  # the last epoch: all of them


def test_epoch_feed_reads_batches_in_step_order(motions) -> None:  # type: ignore[no-untyped-def]
    from methodzoo.greedy_mm import EpochFeed
    from methodzoo.shared.train import EpochBatches

    batches = EpochBatches(40, 8, seed=0)
    feed = EpochFeed(motions, batches, device=torch.device("cpu"))
    feed.start_epoch(2)
    x0, _, labels = feed.batch(5)  # epoch 2 starts at step 5
    torch.testing.assert_close(x0, motions.train.m0[batches.batch(5)])
    torch.testing.assert_close(labels, motions.train.labels[batches.batch(5)])
    with pytest.raises(RuntimeError, match="step order"):
        feed.batch(9)
