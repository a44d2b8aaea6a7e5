"""Samplers: exactness on straight lines, orders of accuracy, Heun's NFE, adaptive RK45, peers."""

from __future__ import annotations

import math

import pytest
import torch

from methodzoo.cud import SOLVERS, integrate, peer_to_cud, sample
from methodzoo.cud.solvers import model_velocity
from methodzoo.shared.errors import ConfigError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("solver", ["euler", "heun", "midpoint"])
@pytest.mark.parametrize("steps", [1, 3, 5])
def test_exact_straight_line_velocity_is_sampled_exactly(solver, steps):
    # Data at μ with independent noise: the exact field v(x, t) = (x − μ)/t has straight paths,
    # so any step count (including 1) lands on μ. These solvers never evaluate the singular t = 0
    # (Heun's last step is Euler, as in EDM).
    mu = torch.tensor([[1.5, -0.5]], dtype=torch.float64)
    x1 = torch.randn(64, 2, generator=_gen(1), dtype=torch.float64)

    def velocity(x, t):
        return (x - mu) / t[:, None]

    result = integrate(velocity, x1, steps, solver)
    torch.testing.assert_close(result.samples, mu.expand(64, 2))


def test_one_euler_step_with_deterministic_pairs_is_exact():
    c = torch.tensor([0.3, -2.0])
    z0 = torch.randn(16, 2, generator=_gen(2))
    result = integrate(lambda x, t: (-c).expand_as(x), z0 - c, steps=1)  # u = z1 − z0 = −c
    torch.testing.assert_close(result.samples, z0)
    assert result.nfe == 1


@pytest.mark.parametrize(("solver", "order"), [("euler", 1), ("midpoint", 2), ("heun2", 2), ("rk3", 3), ("rk4", 4)])
def test_runge_kutta_convergence_orders(solver, order):
    # dx/dt = x·cos(t) from t = 1 down to 0: x(0) = x(1)·exp(sin 0 − sin 1).
    x1 = torch.tensor([[1.0]], dtype=torch.float64)
    exact = math.exp(-math.sin(1.0))

    def error(steps: int) -> float:
        out = integrate(lambda x, t: x * torch.cos(t)[:, None], x1, steps, solver)
        return abs(out.samples.item() - exact)

    observed = math.log2(error(8) / error(16))
    assert observed == pytest.approx(order, abs=0.3)


@pytest.mark.parametrize("n", [1, 3, 5, 15])
def test_heun_odd_n_uses_n_evaluations(n):
    calls = 0

    def velocity(x, t):
        nonlocal calls
        calls += 1
        return -x

    result = integrate(velocity, torch.ones(2, 1), n, "heun")
    assert calls == n == result.nfe


def test_heun_rejects_even_n_and_unknown_solver():
    with pytest.raises(ConfigError, match="odd"):
        integrate(lambda x, t: x, torch.ones(1, 1), 4, "heun")
    with pytest.raises(ConfigError, match="valid solvers"):
        integrate(lambda x, t: x, torch.ones(1, 1), 4, "dopri9")
    with pytest.raises(ConfigError, match="steps"):
        integrate(lambda x, t: x, torch.ones(1, 1), 0, "euler")


def test_rk45_is_accurate_and_counts_evaluations():
    x1 = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    result = integrate(lambda x, t: x * torch.cos(t)[:, None], x1, 1, "rk45", rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(result.samples, x1 * math.exp(-math.sin(1.0)), rtol=1e-6, atol=1e-8)
    assert result.nfe > 6
    assert "rk45" in SOLVERS


def test_peer_convention_conversion_gives_identical_samples():
    # A peer field u(x, s) with noise at s = 0 integrated forward equals CUD's backward integration.
    A = torch.tensor([[0.3, -1.0], [0.8, 0.1]], dtype=torch.float64)

    def peer(x, s):
        return x @ A.T * (1 + s[:, None])

    x_noise = torch.randn(10, 2, generator=_gen(3), dtype=torch.float64)
    x = x_noise.clone()
    steps = 20
    for i in range(steps):  # forward Euler of the peer from s = 0 to 1
        s = torch.full((10,), i / steps, dtype=torch.float64)
        x = x + peer(x, s) / steps
    ours = integrate(peer_to_cud(peer), x_noise, steps, "euler").samples
    torch.testing.assert_close(ours, x)


def test_sample_restores_train_mode_and_batches():
    from methodzoo.cud import NetworkConfig, build_model

    torch.manual_seed(0)
    model = build_model((2,), NetworkConfig.mlp(width=16, depth=1, dropout=0.5), order=2).train()
    first = sample(model, 7, steps=2, generator=_gen(4), batch_size=3)
    second = sample(model, 7, steps=2, generator=_gen(4), batch_size=7)
    assert model.training
    assert first.samples.shape == (7, 2) and first.nfe == 2
    torch.testing.assert_close(first.samples, second.samples)  # eval mode: dropout off, deterministic
    head2 = sample(model, 7, steps=2, head=2, generator=_gen(4)).samples
    assert not torch.allclose(head2, first.samples)
    with pytest.raises(ConfigError, match="head"):
        sample(model, 2, head=3)
    with pytest.raises(ConfigError, match="n must"):
        sample(model, 0)
    assert model_velocity(model, 1)(torch.zeros(1, 2), torch.ones(1)).shape == (1, 2)
