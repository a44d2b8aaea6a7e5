"""Learning-rate schedules against their closed forms, endpoints and LambdaLR."""

import itertools
import math

import pytest
import torch

from methodzoo.shared.errors import ConfigError
from methodzoo.shared.train import LinearWarmup, StepDecay, WarmupCosine, WarmupLinearDecay


def _rates(schedule, steps: int, base: float = 0.5) -> list[float]:
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=base)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_linear_warmup_ramps_then_stays_constant():
    schedule = LinearWarmup(5)
    assert [schedule(s) for s in range(7)] == [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0]
    assert LinearWarmup(0)(0) == 1.0
    # LambdaLR applies the multiplier to the base rate at every optimizer step
    assert _rates(LinearWarmup(4), 6) == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.5, 0.5])


def test_step_decay_multiplies_at_each_milestone_fraction():
    schedule = StepDecay(total_steps=120, milestones=(80 / 120, 100 / 120), gamma=0.1)
    assert schedule.boundaries == (80, 100)
    for step in range(130):
        expected = 0.1 ** ((step >= 80) + (step >= 100))
        assert schedule(step) == pytest.approx(expected, rel=1e-12)
    assert schedule(79) == 1.0 and schedule(80) == pytest.approx(0.1) and schedule(100) == pytest.approx(0.01)


def test_warmup_cosine_matches_its_closed_form_and_endpoints():
    total, warmup, floor = 200, 10, 0.1
    schedule = WarmupCosine(total_steps=total, warmup_steps=warmup, floor=floor)
    for step in range(total + 1):
        if step < warmup:
            expected = (step + 1) / warmup
        else:
            expected = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))
        assert schedule(step) == pytest.approx(expected, abs=1e-12)
    assert schedule(warmup - 1) == 1.0 and schedule(warmup) == 1.0  # the ramp meets the cosine at 1
    assert schedule(total) == pytest.approx(floor)
    assert schedule((warmup + total) // 2) == pytest.approx((1 + floor) / 2)  # half way down
    values = [schedule(s) for s in range(warmup, total + 1)]
    assert all(a >= b for a, b in itertools.pairwise(values))  # decays monotonically
    assert WarmupCosine(total_steps=4)(0) == 1.0  # no warm-up: starts at the base rate


def test_tint_pretraining_schedule_is_unchanged():
    # The copy tint had: warm-up over 5 % of the steps, then cosine to 10 %, written out.
    steps = 300
    warmup = max(1, steps // 20)

    def tint_schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.1 + 0.45 * (1 + math.cos(math.pi * (step - warmup) / max(1, steps - warmup)))

    schedule = WarmupCosine(total_steps=steps, warmup_steps=warmup, floor=0.1)
    assert [schedule(s) for s in range(steps)] == [tint_schedule(s) for s in range(steps)]  # bit-identical


def test_warmup_linear_decay_matches_its_closed_form_and_endpoints():
    total, warmup = 50, 5
    schedule = WarmupLinearDecay(total_steps=total, warmup_steps=warmup)
    for step in range(total + 5):
        expected = (step + 1) / warmup if step < warmup else max(0.0, (total - step) / (total - warmup))
        assert schedule(step) == pytest.approx(expected, abs=1e-12)
    assert schedule(warmup - 1) == 1.0 and schedule(warmup) == 1.0  # the ramp meets the decay at 1
    assert schedule(total) == 0.0 and schedule(total + 3) == 0.0  # never negative past the end
    assert schedule((warmup + total) / 2) == pytest.approx(0.5)
    values = [schedule(s) for s in range(warmup, total + 1)]
    assert all(a > b for a, b in itertools.pairwise(values))  # strictly down to 0
    assert WarmupLinearDecay(total_steps=4)(0) == 1.0  # no warm-up: starts at the base rate
    assert _rates(WarmupLinearDecay(4, 2), 5, base=1.0) == pytest.approx([0.5, 1.0, 1.0, 0.5, 0.0])


def test_schedules_checkpoint_their_settings_through_lambda_lr():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    state = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(100, 5, 0.2)).state_dict()
    assert state["lr_lambdas"] == [{"total_steps": 100, "warmup_steps": 5, "floor": 0.2}]


@pytest.mark.parametrize("make, message", [
    (lambda: LinearWarmup(-1), "warmup_steps"),
    (lambda: StepDecay(10, (1.5,), 0.1), "milestones"),
    (lambda: StepDecay(10, (0.5,), 0.0), "gamma"),
    (lambda: WarmupCosine(10, 11), "warmup_steps"),
    (lambda: WarmupCosine(10, 1, floor=1.5), "floor"),
    (lambda: WarmupLinearDecay(0), "total_steps"),
    (lambda: WarmupLinearDecay(10, 11), "warmup_steps"),
])
def test_bad_settings_are_clear_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()
