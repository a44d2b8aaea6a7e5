"""The balancing schedule: windows of exactly Q steps, d_speed not recomputed inside them, nothing
before the starting epoch, the cared-for modality's sign rule, the random variant's frequencies."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from scipy import stats

from methodzoo.greedy_mm import MMTM, BalanceConfig, GuidedBalancer, RandomBalancer, make_balancer
from methodzoo.greedy_mm.balancing import REGULAR, Balancer


class ScriptedTracker:
    """Stands in for LearningSpeedTracker: returns the scripted d_speed values, counts its calls."""

    def __init__(self, values: list[float]) -> None:
        self.values = list(values)
        self.calls = 0

    def after_backward(self, model: torch.nn.Module | None = None) -> float:
        value = self.values[min(self.calls, len(self.values) - 1)]
        self.calls += 1
        return value

    def state_dict(self) -> dict:
        return {"calls": self.calls}

    def load_state_dict(self, state: dict) -> None:
        self.calls = state["calls"]


def _model() -> torch.nn.Module:
    return torch.nn.ModuleList([MMTM(2, 3), MMTM(4, 5)])


def _run(balancer: Balancer, model: torch.nn.Module, epochs: int, steps_per_epoch: int) -> list[int | None]:
    """Drive the hook like a training loop; return the mode each step's forward ran in."""
    modes = []
    for epoch in range(1, epochs + 1):
        balancer.begin_epoch(epoch)
        for _ in range(steps_per_epoch):
            applied = {m.cared_modality for m in model.modules() if isinstance(m, MMTM)}
            assert len(applied) == 1 and applied.pop() == balancer.cared  # every MMTM is set
            modes.append(balancer.cared)
            balancer.after_backward(model)
    return modes


def test_windows_last_exactly_q_steps_and_start_only_at_the_starting_epoch() -> None:
    q, steps = 5, 20
    tracker = ScriptedTracker([+1.0])  # always far above alpha: re-balance m0 whenever allowed
    balancer = GuidedBalancer(tracker, alpha=0.01, window=q, starting_epoch=3)  # type: ignore[arg-type]
    modes = _run(balancer, _model(), epochs=4, steps_per_epoch=steps)
    assert all(m is None for m in modes[: 2 * steps + 1])  # epochs 1-2 regular; epoch 3's first step too
    tail = modes[2 * steps:]
    # from the starting epoch on: one regular step (measures d), then exactly Q re-balancing steps
    expected = ([None] + [0] * q) * (len(tail) // (q + 1) + 1)
    assert tail == expected[: len(tail)]
    assert balancer.trace == [REGULAR if m is None else m for m in modes]
    # d_speed was measured on regular steps only: never inside a window
    assert tracker.calls == sum(m is None for m in modes)


def test_cared_modality_follows_the_sign_of_d_speed_and_alpha() -> None:
    tracker = ScriptedTracker([0.5, -0.5, 0.005, -0.3])
    balancer = GuidedBalancer(tracker, alpha=0.01, window=2, starting_epoch=1)  # type: ignore[arg-type]
    modes = _run(balancer, _model(), epochs=1, steps_per_epoch=9)
    # d=+0.5 → care m0 for 2 steps; d=−0.5 → m1; d=0.005 ≤ α → stay regular; d=−0.3 → m1
    assert modes == [None, 0, 0, None, 1, 1, None, None, 1]


def test_windows_continue_across_epoch_boundaries() -> None:
    balancer = GuidedBalancer(ScriptedTracker([-1.0]), window=4, starting_epoch=1)  # type: ignore[arg-type]
    modes = _run(balancer, _model(), epochs=2, steps_per_epoch=3)
    assert modes == [None, 1, 1, 1, 1, None]


def test_vanilla_never_rebalances_but_tracks_every_step() -> None:
    tracker = ScriptedTracker([5.0])
    balancer = make_balancer(BalanceConfig(method="vanilla", starting_epoch=1), tracker)  # type: ignore[arg-type]
    modes = _run(balancer, _model(), epochs=2, steps_per_epoch=5)
    assert modes == [None] * 10 and tracker.calls == 10


def test_random_variant_modes_are_uniform_chi_square() -> None:
    balancer = RandomBalancer(ScriptedTracker([0.0]), starting_epoch=2, generator=123)  # type: ignore[arg-type]
    steps = 1000
    modes = _run(balancer, _model(), epochs=4, steps_per_epoch=steps)
    assert all(m is None for m in modes[: steps + 1])  # nothing before the starting epoch
    counts = Counter(modes[steps + 1:])
    observed = [counts[None], counts[0], counts[1]]
    assert sum(observed) == 3 * steps - 1
    assert stats.chisquare(observed).pvalue > 1e-3
    # and the test can fail: a biased draw is rejected
    assert stats.chisquare([observed[0] + 300, observed[1] - 150, observed[2] - 150]).pvalue < 1e-3


def test_random_variant_is_reproducible_and_state_round_trips() -> None:
    first = RandomBalancer(ScriptedTracker([0.0]), starting_epoch=1, generator=7)  # type: ignore[arg-type]
    second = RandomBalancer(ScriptedTracker([0.0]), starting_epoch=1, generator=7)  # type: ignore[arg-type]
    models = [_model(), _model(), _model()]
    assert _run(first, models[0], 1, 50) == _run(second, models[1], 1, 50)
    resumed = RandomBalancer(ScriptedTracker([0.0]), starting_epoch=1, generator=0)  # type: ignore[arg-type]
    resumed.load_state_dict(first.state_dict())
    resumed.apply(models[2])
    assert _run(resumed, models[2], 1, 30) == _run(first, models[0], 1, 30)


@pytest.mark.parametrize("kwargs", [{"window": 0}, {"alpha": -1.0}, {"starting_epoch": 0}])
def test_bad_schedule_settings_are_rejected(kwargs: dict) -> None:
    from methodzoo.shared.errors import ConfigError

    with pytest.raises(ConfigError):
        GuidedBalancer(ScriptedTracker([0.0]), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        BalanceConfig(**kwargs)


def test_trainer_hook_follows_the_trainer_step_counter() -> None:
    from types import SimpleNamespace

    tracker = ScriptedTracker([1.0])
    balancer = GuidedBalancer(tracker, window=2, starting_epoch=2)  # type: ignore[arg-type]
    model = _model()
    hook = balancer.trainer_hook(steps_per_epoch=3)
    trainer = SimpleNamespace(model=model, step=0)
    logged = []
    for step in range(8):  # the Trainer calls its gradient hooks before incrementing its step
        trainer.step = step
        logged.append(hook(trainer)["next_mode"])
    # epoch 1 = steps 0-2 regular; epoch 2 starts at step 3: its backward opens a window of 2 on m0
    assert logged == [-1, -1, -1, 0, 0, -1, 0, 0]
    assert balancer.epoch == 3
