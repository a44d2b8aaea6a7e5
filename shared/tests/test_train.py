import math

import pytest
import torch
from torch import nn

from methodzoo.shared.seed import make_generator
from methodzoo.shared.train import (
    EMA,
    EpochBatches,
    Trainer,
    TrainerOptions,
    TrainHistory,
    TrainingDivergedError,
)


def _problem(seed: int = 0):
    generator = make_generator(seed)
    x = torch.randn(64, 4, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1 * torch.randn(64, generator=generator)
    return x, y


def _make_run(checkpoint_dir, seed: int = 0, checkpoint_every: int = 0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 16), nn.Dropout(0.2), nn.ReLU(), nn.Linear(16, 1))
    scale = nn.Linear(1, 1)  # an auxiliary network, checkpointed through extra_state
    optimizer = torch.optim.Adam([*model.parameters(), *scale.parameters()], lr=3e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=8, gamma=0.7)
    noise = make_generator(seed + 1)
    x, y = _problem(seed)
    batches = EpochBatches(len(x), 8, seed=seed)

    def loss_fn(step: int) -> dict[str, torch.Tensor]:
        index = batches.batch(step)
        jitter = 0.01 * torch.randn(len(index), 4, generator=noise)  # uses a named generator
        prediction = scale(model(x[index] + jitter)).squeeze(1)
        loss = nn.functional.mse_loss(prediction, y[index])
        return {"loss": loss, "prediction_mean": prediction.mean()}

    evaluations = TrainHistory()
    trainer = Trainer(model, optimizer, scheduler=scheduler, generators={"noise": noise},
                      extra_state={"scale": scale, "evaluations": evaluations},
                      checkpoint_dir=checkpoint_dir, config={"seed": seed},
                      options=TrainerOptions(ema_decay=0.9, grad_clip_norm=1.0,
                                             checkpoint_every=checkpoint_every, progress=False))
    trainer.evaluations = evaluations  # type: ignore[attr-defined]
    trainer.scale = scale  # type: ignore[attr-defined]
    return trainer, loss_fn


def test_tiny_run_lowers_the_loss(tmp_path):
    trainer, loss_fn = _make_run(tmp_path)
    history = trainer.fit(loss_fn, 80)
    first, last = sum(history.loss[:8]) / 8, sum(history.loss[-8:]) / 8
    assert last < 0.5 * first
    assert "grad_norm" in history.values and "prediction_mean" in history.values


def test_resume_continues_the_same_run_exactly(tmp_path):
    reference, loss_fn = _make_run(tmp_path / "reference")
    uninterrupted = reference.fit(loss_fn, 20).loss

    first, loss_fn = _make_run(tmp_path / "interrupted", checkpoint_every=7)
    first.evaluations.append(13, {"accuracy": 0.5})
    first.fit(loss_fn, 13)  # checkpoints at 7 and at the end (13)
    torch.manual_seed(12345)  # disturb the global RNG: resuming must restore it
    resumed, loss_fn = _make_run(tmp_path / "interrupted", checkpoint_every=7)
    assert resumed.resume()
    assert resumed.step == 13
    resumed.fit(loss_fn, 20)
    assert resumed.history.loss == uninterrupted  # bit-identical losses
    for a, b in zip(reference.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    for a, b in zip(reference.ema.model.parameters(), resumed.ema.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(reference.scale.weight, resumed.scale.weight)
    assert resumed.evaluations.values == {"accuracy": [0.5]}


def test_resume_without_checkpoint_returns_false(tmp_path):
    trainer, _ = _make_run(tmp_path / "nothing")
    assert trainer.resume() is False


def test_nan_loss_is_a_clear_error():
    model = nn.Linear(2, 1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), options=TrainerOptions(progress=False))
    with pytest.raises(TrainingDivergedError, match="loss became nan at step 0"):
        trainer.fit(lambda step: model(torch.full((1, 2), math.nan)).sum(), 3)


def test_gradient_clipping_bounds_the_update():
    model = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(0.0)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=1.0),
                      options=TrainerOptions(grad_clip_norm=0.5, progress=False))
    trainer.train_step(lambda step: (model(torch.tensor([[100.0]])) - 1000.0).pow(2).sum())
    assert model.weight.abs().item() == pytest.approx(0.5)


def test_ema_matches_closed_form():
    model = nn.Linear(2, 2)
    start = [p.detach().clone() for p in model.parameters()]
    ema = EMA(model, decay=0.8)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    for _ in range(5):
        ema.update(model)
    for shadow, w0, w in zip(ema.model.parameters(), start, model.parameters(), strict=True):
        torch.testing.assert_close(shadow, w + 0.8**5 * (w0 - w))
    with ema.swapped_into(model):
        torch.testing.assert_close(next(model.parameters()), next(ema.model.parameters()))
    torch.testing.assert_close(next(model.parameters()), start[0] + 1.0)


def test_bf16_autocast_runs_on_cpu():
    model = nn.Linear(4, 1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01),
                      options=TrainerOptions(precision="bf16", progress=False))
    seen = {}

    def loss_fn(step):
        out = model(torch.randn(8, 4))
        seen["dtype"] = out.dtype
        return out.float().pow(2).mean()

    trainer.train_step(loss_fn)
    assert seen["dtype"] == torch.bfloat16


def test_epoch_batches_cover_each_item_once_per_epoch():
    batches = EpochBatches(10, 3, seed=1)
    epoch = torch.cat([batches.batch(s) for s in range(batches.batches_per_epoch)])
    assert len(set(epoch.tolist())) == 9
    assert torch.equal(EpochBatches(10, 3, seed=1).batch(7), batches.batch(7))
