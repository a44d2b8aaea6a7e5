"""Movement pruning's straight-through gradient, schedules as data, and pruned/quantized models
surviving a checkpoint round trip and an exact resume with the core Trainer."""

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.errors import UserError
from methodzoo.shared.train import EpochBatches, Trainer, TrainerOptions


def test_movement_scores_get_the_straight_through_gradient() -> None:
    layer = nn.Linear(6, 4)
    model = nn.Sequential(layer)
    C.prune_(model, C.MovementPruning(sparsity=0.5))
    x = torch.randn(8, 6)
    model(x).pow(2).sum().backward()
    movement = layer.parametrizations.weight[0]
    weight = layer.parametrizations.weight.original.detach()
    mask = movement.current_mask()
    # dL/dW' from the masked forward, computed independently
    effective = (weight * mask).requires_grad_(True)
    nn.functional.linear(x, effective, layer.bias.detach()).pow(2).sum().backward()
    torch.testing.assert_close(movement.scores.grad, effective.grad * weight)
    torch.testing.assert_close(layer.parametrizations.weight.original.grad, effective.grad * mask)
    assert float((~mask).float().mean()) == 0.5


def test_movement_scores_keep_weights_moving_away_from_zero() -> None:
    torch.manual_seed(0)
    target = torch.zeros(1, 8)
    target[0, :4] = 4.0  # only the first four outputs matter
    model = nn.Sequential(nn.Linear(1, 8, bias=False))
    with torch.no_grad():
        model[0].weight.fill_(0.1)
    C.prune_(model, C.MovementPruning(sparsity=0.5))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(30):
        optimizer.zero_grad()
        (model(torch.ones(1, 1)) - target).pow(2).sum().backward()
        optimizer.step()
    C.fix_masks_(model)
    assert torch.equal(C.masked_tensors(model)["0.weight"][:, 0], torch.tensor([True] * 4 + [False] * 4))


def test_cubic_schedule_follows_zhu_and_gupta() -> None:
    schedule = C.PruningSchedule(kind="cubic", initial_sparsity=0.1, final_sparsity=0.9, start_step=10,
                                 end_step=110, frequency=10)
    assert schedule.sparsity_at(0) == pytest.approx(0.1)
    assert schedule.sparsity_at(60) == pytest.approx(0.9 + (0.1 - 0.9) * 0.5**3)
    assert schedule.sparsity_at(500) == pytest.approx(0.9)
    assert schedule.pruning_steps() == list(range(10, 111, 10))
    values = [schedule.sparsity_at(s) for s in schedule.pruning_steps()]
    assert values == sorted(values)


def test_iterative_and_one_shot_schedules() -> None:
    iterative = C.PruningSchedule(kind="iterative", final_sparsity=0.8, start_step=0, end_step=40, frequency=10)
    assert [iterative.sparsity_at(s) for s in iterative.pruning_steps()] == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8])
    one_shot = C.PruningSchedule(kind="one_shot", final_sparsity=0.5, start_step=7)
    assert one_shot.pruning_steps() == [7] and one_shot.sparsity_at(6) == 0.0
    assert C.PruningSchedule.from_json(iterative.to_json()) == iterative
    with pytest.raises(UserError, match="end_step"):
        C.PruningSchedule(kind="cubic", start_step=10, end_step=5)


def _run(folder, steps: int, stop: int | None, quantized: bool) -> tuple[list[float], nn.Module]:
    """Train a pruned (and optionally fake-quantized) model with a cubic schedule; optionally
    stop at ``stop``, then build everything anew and resume from the checkpoint."""

    def build() -> tuple[Trainer, C.ScheduledPruning]:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
        pruning = C.ScheduledPruning(model, C.MagnitudePruning(), C.PruningSchedule(
            kind="cubic", final_sparsity=0.75, start_step=0, end_step=8, frequency=2))
        pruning.step(0)
        if quantized:
            C.quantize_(model, C.FakeQuant(bits=4, activation_bits=8))
        trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
                          options=TrainerOptions(checkpoint_every=5, progress=False), checkpoint_dir=folder)
        return trainer, pruning

    x = torch.randn(64, 8, generator=torch.Generator().manual_seed(1))
    y = torch.randint(0, 3, (64,), generator=torch.Generator().manual_seed(2))
    batches = EpochBatches(64, 16, seed=3)

    def loss(trainer: Trainer):
        def fn(step: int) -> torch.Tensor:
            index = batches.batch(step)
            return nn.functional.cross_entropy(trainer.model(x[index]), y[index])
        return fn

    trainer, pruning = build()
    if stop is not None:
        trainer.fit(loss(trainer), stop, callback=pruning)
        trainer, pruning = build()
        assert trainer.resume()
    trainer.fit(loss(trainer), steps, callback=pruning)
    return trainer.history.loss, trainer.model


@pytest.mark.parametrize("quantized", [False, True])
def test_pruned_and_quantized_training_resumes_exactly(tmp_path, quantized: bool) -> None:
    straight, model = _run(tmp_path / "a", 12, None, quantized)
    resumed, resumed_model = _run(tmp_path / "b", 12, 5, quantized)
    assert resumed == straight
    assert C.sparsity(model) == pytest.approx(0.75, abs=0.01)
    for name, mask in C.masked_tensors(model).items():
        assert torch.equal(C.masked_tensors(resumed_model)[name], mask)
