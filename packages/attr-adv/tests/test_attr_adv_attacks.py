"""The inner maximisation: it improves J, stays in A, steps the tensor G reads; PGD vs torchattacks."""

from __future__ import annotations

from itertools import pairwise

import pytest
import torch
import torch.nn.functional as F

from methodzoo.attr_adv.attacks import AttributeAttack, LinfPGD
from methodzoo.attr_adv.config import InnerConfig, PGDConfig
from methodzoo.attr_adv.methods import RandomAttributes
from methodzoo.attr_adv.models import SmallCNN
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.shared.seed import seeded


@pytest.fixture(scope="module")
def fixed_model_and_batch() -> tuple[SmallCNN, torch.Tensor, torch.Tensor]:
    """A small CNN fitted for a few steps on real digits, then frozen, and a batch of digits."""
    from methodzoo.shared.data import load_dataset

    digits = load_dataset("mnist-digits")
    order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))
    images, labels = digits.as_float()[order], digits.labels[order]
    torch.set_num_threads(1)  # module fixtures run before the per-test one-thread fixture
    with seeded(0):
        model = SmallCNN(width=4, hidden=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(120):
        batch = slice(32 * step, 32 * step + 32)
        loss = F.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.requires_grad_(False)
    return model, images[-64:], labels[-64:]


@pytest.mark.parametrize("objective", ["agat", "ce_ascent"])
@pytest.mark.parametrize("space_name", ["digits-rts", "digits-c"])
def test_inner_steps_increase_the_objective_and_stay_in_bounds(fixed_model_and_batch, objective, space_name) -> None:
    model, x, y = fixed_model_and_batch
    space = AttributeSpace.preset(space_name)
    config = InnerConfig(objective=objective, inner_steps=10, step_size=0.02)
    result = AttributeAttack(model, space, config, generator=0).run(x, y)
    trace = result.objective
    assert len(trace) == 11
    assert trace[-1] > trace[0]  # J (the summed per-image objective) went up
    assert sum(b > a for a, b in pairwise(trace)) >= 8  # and up at nearly every step
    assert space.contains(result.attributes)
    if objective == "ce_ascent":
        before = F.cross_entropy(model(space.apply(x, result.start, noise=result.noise)), y)
        after = F.cross_entropy(model(result.images), y)
        assert after > before


def test_large_steps_are_projected_onto_the_space(fixed_model_and_batch) -> None:
    model, x, y = fixed_model_and_batch
    space = AttributeSpace.digits_rts()
    for steps in (1, 2, 5):
        result = AttributeAttack(model, space, InnerConfig(inner_steps=steps, step_size=50.0), generator=1).run(x, y)
        assert space.contains(result.attributes)
        at_bound = (result.attributes.abs() == 1).float().mean()
        assert at_bound > 0.5  # a huge step overshoots and Π_A clamps it to the box's faces


def test_the_optimised_tensor_is_the_one_g_reads(fixed_model_and_batch) -> None:
    """Regression test for the released code's stale tensor: x' must be G at the returned a*,
    and a* must have moved from the start."""
    model, x, y = fixed_model_and_batch
    space = AttributeSpace.digits_c()  # has noise: ε drawn once and reused
    result = AttributeAttack(model, space, InnerConfig(step_size=0.05), generator=2).run(x, y)
    assert not torch.equal(result.attributes, result.start)
    assert (result.attributes - result.start).abs().mean() > 0.05
    assert torch.equal(result.images, space.apply(x, result.attributes, noise=result.noise))


def test_zero_steps_and_lambda_zero_reduce_to_random_augmentation_bit_for_bit(fixed_model_and_batch) -> None:
    model, x, y = fixed_model_and_batch
    for space in (AttributeSpace.digits_rts(), AttributeSpace.digits_c()):
        attack = AttributeAttack(model, space, InnerConfig(inner_steps=0, lam=0.0), generator=7)
        random = RandomAttributes(model, space, generator=7)
        for _ in range(2):  # the generators stay in step call after call
            x_attack, a_attack = attack(x, y)
            x_random, a_random = random.inner_maximization(x, y)
            assert torch.equal(x_attack, x_random) and torch.equal(a_attack, a_random)


def test_the_search_leaves_the_model_alone(fixed_model_and_batch) -> None:
    model, x, y = fixed_model_and_batch
    model.requires_grad_(True)
    model.zero_grad(set_to_none=True)
    model.train()
    try:
        AttributeAttack(model, AttributeSpace.digits_rts(), InnerConfig(inner_steps=2), generator=0)(x, y)
        assert model.training
        assert all(p.grad is None for p in model.parameters())
    finally:
        model.requires_grad_(False)


def test_pgd_matches_torchattacks_step_for_step(fixed_model_and_batch) -> None:
    torchattacks = pytest.importorskip("torchattacks")
    model, x, y = fixed_model_and_batch
    config = PGDConfig(pgd_eps=0.1, pgd_alpha=0.02, pgd_steps=7, pgd_random_start=False)
    ours = LinfPGD(model, config)(x, y)
    peer = torchattacks.PGD(model, eps=0.1, alpha=0.02, steps=7, random_start=False)(x, y)
    assert torch.allclose(ours, peer, atol=1e-6)


def test_pgd_stays_in_the_ball_and_raises_the_loss(fixed_model_and_batch) -> None:
    model, x, y = fixed_model_and_batch
    adversarial = LinfPGD(model, PGDConfig(pgd_eps=0.1, pgd_alpha=0.02), generator=0)(x, y)
    assert (adversarial - x).abs().max() <= 0.1 + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    assert F.cross_entropy(model(adversarial), y) > F.cross_entropy(model(x), y) + 0.5
