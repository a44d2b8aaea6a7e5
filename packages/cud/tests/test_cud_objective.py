"""The CUD objective: Runge–Kutta targets against closed forms, masking, catch-up step, KL, loss."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from methodzoo.cud import CatchUpDistillation, CUDConfig, NetworkConfig, build_model, gaussian_kl
from methodzoo.cud.objective import Coupling
from methodzoo.shared.errors import ConfigError


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _linear_field(A: torch.Tensor):
    return lambda x, t: x @ A.T


def _setup(batch: int = 5, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = _gen(seed)
    A = torch.randn(2, 2, generator=g, dtype=torch.float64)
    x = torch.randn(batch, 2, generator=g, dtype=torch.float64)
    t = 0.5 + 0.4 * torch.rand(batch, generator=g, dtype=torch.float64)
    h = 0.02 + 0.04 * torch.rand(batch, generator=g, dtype=torch.float64)  # a different h per sample
    return A, x, t, h


def _apply(matrix_poly: list[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    return torch.stack([m @ xi for m, xi in zip(matrix_poly, x, strict=True)])


def test_order2_targets_match_closed_form_heun():
    A, x, t, h = _setup()
    cud = CatchUpDistillation(CUDConfig(order=2, mask_targets=False))
    points, times = cud.runge_kutta_points(_linear_field(A), x, t, h)
    targets = cud.catch_up_targets(_linear_field(A), x, t, h, torch.zeros_like(x))
    eye = torch.eye(2, dtype=torch.float64)
    # Heun point at t − h: (I − hA + h²A²/2)x; the two-step point at t − 2h: (I − 2hA + h²A²)x.
    heun = [eye - hi * A + hi**2 * A @ A / 2 for hi in h]
    two = [eye - 2 * hi * A + hi**2 * A @ A for hi in h]
    torch.testing.assert_close(points[0], _apply(heun, x))
    torch.testing.assert_close(points[1], _apply(two, x))
    torch.testing.assert_close(targets[0], _apply([A @ m for m in heun], x))
    torch.testing.assert_close(targets[1], _apply([A @ m for m in two], x))
    torch.testing.assert_close(times[0], t - h)
    torch.testing.assert_close(times[1], t - 2 * h)


def test_order3_targets_match_closed_form():
    A, x, t, h = _setup(seed=1)
    cud = CatchUpDistillation(CUDConfig(order=3, mask_targets=False))
    points, times = cud.runge_kutta_points(_linear_field(A), x, t, h)
    targets = cud.catch_up_targets(_linear_field(A), x, t, h, torch.zeros_like(x))
    eye = torch.eye(2, dtype=torch.float64)
    A2, A3 = A @ A, A @ A @ A
    for j in (1, 2, 3):
        # s = Ax − (h/2)A²x − (h²/48)A³x (Adams–Moulton weights 5/12, 2/3, −1/12 on k1, k2, k3).
        poly = [eye - j * hi * A + (j / 2) * hi**2 * A2 + (j / 48) * hi**3 * A3 for hi in h]
        torch.testing.assert_close(points[j - 1], _apply(poly, x))
        torch.testing.assert_close(targets[j - 1], _apply([A @ m for m in poly], x))
        torch.testing.assert_close(times[j - 1], t - j * h)


def test_order3_k3_point_moves_two_steps_in_time():
    calls: list[torch.Tensor] = []

    def field(x, t):
        calls.append(t.clone())
        return torch.ones_like(x)

    cud = CatchUpDistillation(CUDConfig(order=3))
    t = torch.tensor([0.9])
    h = torch.tensor([0.05])
    cud.runge_kutta_points(field, torch.zeros(1, 2), t, h)
    torch.testing.assert_close(torch.cat(calls), torch.tensor([0.9, 0.85, 0.8]))


def test_time_dependent_field_order1_and_clamp():
    # v(x, t) = x·t: T_1 = (x − h·x·t)·(t − h), times clamped to [ε, 1].
    cud = CatchUpDistillation(CUDConfig(order=1, mask_targets=False))
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    t = torch.tensor([0.7, 0.01], dtype=torch.float64)
    h = torch.tensor([0.1, 0.05], dtype=torch.float64)
    targets = cud.catch_up_targets(lambda x, s: x * s[:, None], x, t, h, torch.zeros_like(x))
    expected_time = torch.tensor([0.6, cud.config.epsilon], dtype=torch.float64)
    expected = (x - h[:, None] * x * t[:, None]) * expected_time[:, None]
    torch.testing.assert_close(targets[0], expected)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_constant_field_targets_equal_constant_on_images(order):
    cud = CatchUpDistillation(CUDConfig(order=order))
    constant = torch.randn(1, 3, 4, 4, generator=_gen(2))
    x = torch.randn(6, 3, 4, 4, generator=_gen(3))
    t = torch.full((6,), 0.8)
    h = torch.full((6,), 0.05)
    targets = cud.catch_up_targets(lambda x, s: constant.expand_as(x), x, t, h, torch.zeros_like(x))
    assert len(targets) == order
    for target in targets:
        torch.testing.assert_close(target, constant.expand_as(x))


@pytest.mark.parametrize("order", [1, 2, 3])
def test_targets_are_u_below_the_threshold(order):
    cud = CatchUpDistillation(CUDConfig(order=order))
    eps = cud.config.epsilon
    h = torch.tensor([0.05, 0.05, 0.05])
    t = torch.tensor([eps + order * 0.05 - 1e-3, eps + order * 0.05 + 1e-3, 0.9])
    u = torch.randn(3, 2, generator=_gen(4))
    targets = cud.catch_up_targets(lambda x, s: torch.full_like(x, 7.0), torch.zeros(3, 2), t, h, u)
    for target in targets:
        torch.testing.assert_close(target[0], u[0])  # masked to u exactly
        torch.testing.assert_close(target[1:], torch.full((2, 2), 7.0))


def test_catch_up_dt_modes():
    t = torch.linspace(0.1, 1.0, 1000)
    uniform = CatchUpDistillation(CUDConfig(dt_mode="uniform", catch_up_T=16)).sample_catch_up_dt(t, _gen(5))
    assert uniform.min() >= 0 and uniform.max() <= 1 / 16
    assert abs(uniform.mean().item() - 1 / 32) < 0.003  # U(0, 1/16) has mean 1/32
    rule = CatchUpDistillation(CUDConfig(dt_mode="rule", catch_up_T=8)).sample_catch_up_dt(t)
    torch.testing.assert_close(rule, t / 8)
    origin = CatchUpDistillation(CUDConfig(dt_mode="origin", catch_up_T=4)).sample_catch_up_dt(t)
    torch.testing.assert_close(origin, torch.full_like(t, 0.25))


def test_time_sampling_range():
    cud = CatchUpDistillation(CUDConfig(epsilon=1e-2))
    t = cud.sample_time(10_000, _gen(6))
    assert t.min() >= 1e-2 and t.max() <= 1.0
    assert abs(t.mean().item() - (1e-2 + 0.99 / 2)) < 0.01


def test_weight_schedules():
    assert CatchUpDistillation(CUDConfig(omega1=0.5, omega2=2.0)).loss_weights(3, 10) == (0.5, 2.0)
    linear = CatchUpDistillation(CUDConfig(weight_schedule="linear"))
    assert linear.loss_weights(0, 100) == (0.0, 2.0)
    assert linear.loss_weights(25, 100) == pytest.approx((0.5, 1.5))
    assert linear.loss_weights(100, 100) == pytest.approx((2.0, 0.0))


def test_xt_derivative_in_t_is_u():
    cud = CatchUpDistillation()
    z0, z1 = torch.randn(4, 2, generator=_gen(7)), torch.randn(4, 2, generator=_gen(8))
    t = torch.rand(4, generator=_gen(9)).requires_grad_(True)
    x_t = cud.compute_xt(z0, z1, t)
    # Samples are independent, so d(Σ_b x_t[b, d])/dt[b] = dx_t[b, d]/dt[b].
    tangent = torch.stack([torch.autograd.grad(x_t[:, d].sum(), t, retain_graph=True)[0] for d in range(2)], 1)
    torch.testing.assert_close(tangent, cud.compute_velocity(z0, z1))


def test_kl_closed_form_matches_monte_carlo():
    g = _gen(10)
    mean = torch.randn(1, 3, generator=g, dtype=torch.float64)
    log_variance = 0.5 * torch.randn(1, 3, generator=g, dtype=torch.float64)
    std = (0.5 * log_variance).exp()
    z = mean + std * torch.randn(400_000, 3, generator=g, dtype=torch.float64)
    log_q = torch.distributions.Normal(mean, std).log_prob(z).sum(1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    monte_carlo = (log_q - log_p).mean()
    assert gaussian_kl(mean, log_variance).item() == pytest.approx(monte_carlo.item(), abs=0.01)


class _ZeroDt(CatchUpDistillation):
    def sample_catch_up_dt(self, t, generator=None):
        return torch.zeros_like(t)


def _tiny(order: int = 1, dropout: float = 0.0, coupling: str = "independent"):
    torch.manual_seed(0)  # local to the test process; the model is only a fixture
    return build_model((2,), NetworkConfig.mlp(width=32, depth=2, dropout=dropout), order=order, coupling=coupling)


def test_zero_dt_without_dropout_gives_zero_catch_up_loss_and_gradient():
    model = _tiny(dropout=0.0)
    cud = _ZeroDt(CUDConfig(omega2=0.0, coupling="independent", kl_weight=0.0))
    out = cud.loss(model, torch.randn(64, 2, generator=_gen(11)), generator=_gen(12))
    assert out["loss"].item() == 0.0
    out["loss"].backward()
    assert all(p.grad is None or p.grad.abs().max() == 0 for p in model.parameters())


def test_zero_dt_with_dropout_differs_through_the_mask():
    model = _tiny(dropout=0.3).train()
    cud = _ZeroDt(CUDConfig(omega2=0.0, coupling="independent", kl_weight=0.0))
    out = cud.loss(model, torch.randn(64, 2, generator=_gen(11)), generator=_gen(12))
    assert out["loss"].item() > 1e-6


def test_targets_carry_no_gradient_and_online_teacher_is_current_weights():
    model = _tiny()
    ema = copy.deepcopy(model)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    cud = CatchUpDistillation(CUDConfig(coupling="independent"))
    x, t, h = torch.randn(8, 2), torch.full((8,), 0.7), torch.full((8,), 0.05)
    targets = cud.catch_up_targets(cud.teacher_velocity(model), x, t, h, torch.zeros_like(x))
    assert not targets[0].requires_grad
    z0 = torch.randn(32, 2, generator=_gen(13))
    online = cud.loss(model, z0, generator=_gen(14))["loss_catch_up"]
    explicit = cud.loss(model, z0, teacher=model, generator=_gen(14))["loss_catch_up"]
    from_ema = cud.loss(model, z0, teacher=ema, generator=_gen(14))["loss_catch_up"]
    assert online.item() == explicit.item()
    assert abs(online.item() - from_ema.item()) > 1e-6


class _ConstantModel(nn.Module):
    """A velocity model whose every head outputs the constant c."""

    def __init__(self, c: torch.Tensor, heads: int) -> None:
        super().__init__()
        self.c = c
        self.num_heads = heads
        self.data_shape = tuple(c.shape)
        self.encoder = None
        self.dummy = nn.Parameter(torch.zeros(()))

    def heads(self, x, t):
        return [self.c.expand_as(x) + 0 * self.dummy for _ in range(self.num_heads)]

    def forward(self, x, t, head=1):
        return self.heads(x, t)[head - 1]


@pytest.mark.parametrize("order", [1, 2, 3])
def test_deterministic_pairs_exact_model_has_zero_loss(order):
    c = torch.tensor([0.7, -1.3])

    class Shifted(CatchUpDistillation):
        def sample_coupling(self, model, z0, generator=None):
            return Coupling(z0 - c, torch.zeros(z0.shape[0]))  # u = z1 − z0 = −c

    model = _ConstantModel(-c, order)
    out = Shifted(CUDConfig(order=order)).loss(model, torch.randn(32, 2, generator=_gen(15)),  # type: ignore[arg-type]
                                               generator=_gen(16))
    assert out["loss"].item() == pytest.approx(0.0, abs=1e-12)


def test_loss_parts_and_errors():
    model = _tiny(order=2, coupling="vae")
    cud = CatchUpDistillation(CUDConfig(order=2))
    out = cud.loss(model, torch.randn(16, 2, generator=_gen(17)), generator=_gen(18))
    expected = out["omega1"] * out["loss_catch_up"] + out["omega2"] * out["loss_ode"] + 20.0 * out["kl"]
    assert out["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert out["kl"].item() == 0.0  # the encoder's output layer starts at zero: q = N(0, I)
    with pytest.raises(ConfigError, match="heads"):
        CatchUpDistillation(CUDConfig(order=3)).loss(model, torch.randn(4, 2))
    with pytest.raises(ConfigError, match="shape"):
        cud.loss(model, torch.randn(4, 3))
    with pytest.raises(ConfigError, match="encoder"):
        CatchUpDistillation(CUDConfig(coupling="vae")).loss(_tiny(), torch.randn(4, 2))


def test_vae_coupling_gradient_reaches_the_encoder():
    model = _tiny(coupling="vae")
    assert model.encoder is not None
    with torch.no_grad():
        model.encoder.out.weight.normal_(0, 0.1)  # type: ignore[union-attr]
    out = CatchUpDistillation(CUDConfig()).loss(model, torch.randn(32, 2, generator=_gen(19)), generator=_gen(20))
    out["loss"].backward()
    assert out["kl"].item() > 0
    assert model.encoder.out.weight.grad.abs().sum() > 0  # type: ignore[union-attr]
