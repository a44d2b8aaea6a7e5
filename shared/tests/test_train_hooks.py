"""Trainer hooks: gradient accumulation, gradient hooks, evaluation with early stopping, several optimizers."""

import pytest
import torch
from torch import nn

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator
from methodzoo.shared.train import (
    EarlyStopping,
    MicroBatch,
    Trainer,
    TrainerOptions,
    derive_seed,
)


def _data(rows: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = make_generator(seed)
    x = torch.randn(rows, 3, generator=generator)
    return x, torch.sin(x).sum(1, keepdim=True)


def _network(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))


def _options(**changes) -> TrainerOptions:
    return TrainerOptions(progress=False, **changes)


def test_accumulated_micro_batches_equal_one_step_on_the_whole_batch():
    x, y = _data()
    whole, split = _network(), _network()
    trainers = {
        "whole": Trainer(whole, torch.optim.Adam(whole.parameters(), lr=1e-2), options=_options()),
        "split": Trainer(split, torch.optim.Adam(split.parameters(), lr=1e-2),
                         options=_options(accumulation=4)),
    }
    seen: list[tuple[int, int, int]] = []

    def whole_loss(step: int) -> torch.Tensor:
        return nn.functional.mse_loss(whole(x), y)

    def micro_loss(step: int, micro: MicroBatch) -> torch.Tensor:
        seen.append((micro.step, micro.index, micro.count))
        rows = micro.select(torch.arange(len(x)))  # 6 of the 24 rows
        return nn.functional.mse_loss(split(x[rows]), y[rows])

    trainers["whole"].fit(whole_loss, 5)
    trainers["split"].fit(micro_loss, 5)
    assert seen[:5] == [(0, 0, 4), (0, 1, 4), (0, 2, 4), (0, 3, 4), (1, 0, 4)]
    for a, b in zip(whole.parameters(), split.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # the logged loss is the mean over the micro-batches: the whole batch's loss
    torch.testing.assert_close(trainers["split"].history.loss, trainers["whole"].history.loss,
                               rtol=1e-5, atol=1e-6)


def test_accumulation_needs_a_loss_function_that_takes_the_micro_batch():
    model = nn.Linear(2, 1)
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1), options=_options(accumulation=2))
    with pytest.raises(ConfigError, match=r"loss_fn\(step, micro\)"):
        trainer.train_step(lambda step: model(torch.ones(1, 2)).sum())
    with pytest.raises(ConfigError, match="accumulation"):
        TrainerOptions(accumulation=0)
    with pytest.raises(ConfigError, match="equal micro-batches"):
        MicroBatch(0, 0, 4).select(torch.arange(10))


def test_micro_batch_seeds_depend_only_on_step_and_index():
    a, b = MicroBatch(3, 1, 2), MicroBatch(3, 1, 4)  # same (step, index), different splits
    assert a.seed(7) == b.seed(7) == derive_seed(7, 3, 1)
    assert len({MicroBatch(s, i, 2).seed(7) for s in range(3) for i in range(2)}) == 6
    assert torch.equal(torch.rand(4, generator=a.generator(7)), torch.rand(4, generator=b.generator(7)))
    assert 0 <= derive_seed(2**40, 5) < 2**63


def test_gradient_hook_sees_gradients_before_the_step_and_masks_them():
    x, y = _data()
    model = _network()
    mask = (torch.arange(16 * 3).reshape(16, 3) % 2).float()  # freeze every other weight of layer 0
    before = model[0].weight.detach().clone()
    norms: list[float] = []

    def masked_gradients(trainer: Trainer) -> dict[str, float]:
        grad = trainer.model[0].weight.grad
        assert grad is not None and grad.abs().sum() > 0  # the gradient of this step is there
        norms.append(float(grad.norm()))
        grad.mul_(mask)
        return {"layer0_grad_norm": norms[-1]}

    trainer = Trainer(model, torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=0.0),
                      options=_options(grad_clip_norm=1.0), gradient_hooks=[masked_gradients])
    trainer.fit(lambda step: nn.functional.mse_loss(model(x), y), 6)
    after = model[0].weight.detach()
    assert torch.equal(after[mask == 0], before[mask == 0])  # masked weights never moved
    assert (after[mask == 1] != before[mask == 1]).all()  # the others trained
    assert trainer.history.values["layer0_grad_norm"] == norms and len(norms) == 6


def _scripted(values: dict[int, float], name: str = "val_loss"):
    def evaluate(trainer: Trainer) -> dict[str, float]:
        return {name: values[trainer.step], "step_seen": float(trainer.step)}

    return evaluate


def test_early_stopping_stops_after_patience_evaluations_without_improvement():
    model = nn.Linear(2, 1)
    # evaluated every 2 steps; best at step 6, then 3 evaluations without improvement
    values = {2: 5.0, 4: 4.0, 6: 3.0, 8: 3.5, 10: 3.2, 12: 3.1, 14: 1.0}
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01), options=_options(eval_every=2),
                      evaluate=_scripted(values), early_stopping=EarlyStopping("val_loss", patience=3))
    trainer.fit(lambda step: model(torch.ones(4, 2)).pow(2).mean(), 100)
    assert trainer.step == 12 and trainer.stopped_early
    assert trainer.monitor is not None
    assert (trainer.monitor.best_step, trainer.monitor.best_value, trainer.monitor.stopped_at) == (6, 3.0, 12)
    assert trainer.evaluations.steps == [2, 4, 6, 8, 10, 12]
    assert trainer.evaluations.values["step_seen"] == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]


def test_early_stopping_in_max_mode_with_min_delta_restores_the_best_weights():
    x, y = _data()
    model = _network()
    weights: dict[int, torch.Tensor] = {}
    accuracy = {3: 0.50, 6: 0.60, 9: 0.61, 12: 0.615, 15: 0.70}  # +0.01 is within min_delta

    def evaluate(trainer: Trainer) -> dict[str, float]:
        weights[trainer.step] = model[0].weight.detach().clone()
        return {"accuracy": accuracy[trainer.step]}

    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.05), options=_options(eval_every=3),
                      evaluate=evaluate,
                      early_stopping=EarlyStopping("accuracy", mode="max", patience=2, min_delta=0.02,
                                                   restore_best=True))
    trainer.fit(lambda step: nn.functional.mse_loss(model(x), y), 30)
    assert trainer.step == 12 and trainer.monitor is not None and trainer.monitor.best_step == 6
    assert torch.equal(model[0].weight, weights[6])  # back to the weights of the best evaluation
    assert not torch.equal(weights[6], weights[12])


def test_evaluation_settings_are_checked():
    model = nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match="eval_every"):
        Trainer(model, optimizer, evaluate=lambda trainer: {"a": 1.0})
    with pytest.raises(ConfigError, match="needs evaluate"):
        Trainer(model, optimizer, options=_options(eval_every=1), early_stopping=EarlyStopping("a"))
    with pytest.raises(ConfigError, match="patience"):
        EarlyStopping("a", patience=0)
    trainer = Trainer(model, optimizer, options=_options(eval_every=1), evaluate=lambda t: {"b": 1.0},
                      early_stopping=EarlyStopping("a"))
    with pytest.raises(ConfigError, match="watches 'a'"):
        trainer.fit(lambda step: model(torch.ones(1, 2)).sum(), 2)


def test_several_optimizers_and_schedulers_step_together():
    x, y = _data()
    model = _network()
    body = torch.optim.SGD(model[0].parameters(), lr=0.1)
    head = torch.optim.Adam(model[2].parameters(), lr=0.01)
    schedulers = [torch.optim.lr_scheduler.StepLR(body, step_size=2, gamma=0.5),
                  torch.optim.lr_scheduler.LambdaLR(head, lambda step: 1.0 / (step + 1))]
    start = [p.detach().clone() for p in model.parameters()]
    trainer = Trainer(model, [body, head], scheduler=schedulers, options=_options())
    trainer.fit(lambda step: nn.functional.mse_loss(model(x), y), 4)
    assert all(not torch.equal(a, b) for a, b in zip(start, model.parameters(), strict=True))
    assert body.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**2)
    assert head.param_groups[0]["lr"] == pytest.approx(0.01 / 5)
    assert trainer.optimizer is body and trainer.scheduler is schedulers[0]
    state = trainer.state_dict()
    assert len(state["optimizers"]) == 2 and len(state["schedulers"]) == 2


def _run_with_everything(checkpoint_dir, checkpoint_every: int = 0) -> Trainer:
    """A pruned model with dropout, a gradient mask, 2 micro-batches, 2 optimizers, EMA, early stopping."""
    from torch.nn.utils import prune

    from methodzoo.shared.train import EpochBatches, LinearWarmup

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Dropout(0.2), nn.Tanh(), nn.Linear(16, 1))
    prune.l1_unstructured(model[0], "weight", amount=0.3)
    head_mask = (torch.arange(16) % 2).float().unsqueeze(0)  # (1, 16)
    body = torch.optim.SGD(model[0].parameters(), lr=0.05, momentum=0.9)
    head = torch.optim.Adam(model[3].parameters(), lr=1e-2)
    schedulers = [torch.optim.lr_scheduler.StepLR(body, step_size=4, gamma=0.5),
                  torch.optim.lr_scheduler.LambdaLR(head, LinearWarmup(3))]
    x, y = _data(32)
    batches = EpochBatches(32, 16, seed=0)

    def loss_fn(step: int, micro: MicroBatch) -> dict[str, torch.Tensor]:
        rows = micro.select(batches.batch(step))
        jitter = 0.01 * torch.randn(len(rows), 3, generator=micro.generator(1))
        return {"loss": nn.functional.mse_loss(model(x[rows] + jitter), y[rows])}

    def mask_head(trainer: Trainer) -> None:
        trainer.model[3].weight.grad.mul_(head_mask)

    def evaluate(trainer: Trainer) -> dict[str, float]:
        with torch.no_grad():
            real = float(nn.functional.mse_loss(model.eval()(x), y))
        # a scripted score with its best at step 9 makes the stop step known: 9 + 2 × 3 = 15
        return {"score": float((trainer.step - 9) ** 2), "mse": real}

    options = _options(accumulation=2, micro_batch_seed=5, ema_decay=0.9, grad_clip_norm=1.0, eval_every=3,
                       checkpoint_every=checkpoint_every)
    trainer = Trainer(model, [body, head], scheduler=schedulers, options=options, checkpoint_dir=checkpoint_dir,
                      gradient_hooks=[mask_head], evaluate=evaluate,
                      early_stopping=EarlyStopping("score", patience=2, restore_best=True))
    trainer.loss_fn = loss_fn  # type: ignore[attr-defined]
    return trainer


def test_resume_is_exact_with_pruning_masks_accumulation_optimizers_and_early_stopping(tmp_path):
    reference = _run_with_everything(tmp_path / "reference")
    reference.fit(reference.loss_fn, 30)  # type: ignore[attr-defined]
    assert reference.step == 15 and reference.monitor is not None and reference.monitor.best_step == 9

    first = _run_with_everything(tmp_path / "interrupted", checkpoint_every=4)
    first.fit(first.loss_fn, 13)  # type: ignore[attr-defined]
    torch.manual_seed(12345)  # disturb the global RNG: the micro-batch seeds must not care
    resumed = _run_with_everything(tmp_path / "interrupted", checkpoint_every=4)
    assert resumed.resume() and resumed.step == 13
    resumed.fit(resumed.loss_fn, 30)  # type: ignore[attr-defined]

    assert resumed.step == 15 and resumed.monitor is not None
    assert resumed.monitor.state_dict()["best_step"] == 9 and resumed.monitor.stopped_at == 15
    assert resumed.history.loss == reference.history.loss  # bit-identical
    assert resumed.evaluations.values == reference.evaluations.values
    for name, value in reference.model.state_dict().items():  # weight_orig, weight_mask, ...
        assert torch.equal(resumed.model.state_dict()[name], value), name
    assert reference.ema is not None and resumed.ema is not None
    for name, value in reference.ema.model.state_dict().items():
        assert torch.equal(resumed.ema.model.state_dict()[name], value), name
    for a, b in zip(reference.optimizers, resumed.optimizers, strict=True):
        assert a.param_groups[0]["lr"] == b.param_groups[0]["lr"]
