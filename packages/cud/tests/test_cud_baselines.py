"""Consistency and progressive distillation: closed forms, zero-loss fixed points, gradients, and a
tiny run that must improve one-step samples."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from methodzoo.cud import CUDConfig, NetworkConfig, TrainConfig, fit, load_training_data, sample
from methodzoo.cud.baselines import (
    ConsistencyDistillation,
    ProgressiveDistillation,
    distill_consistency,
    distill_progressive,
)
from methodzoo.cud.config import ConsistencyConfig, ProgressiveConfig
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.metrics import sliced_wasserstein


class _Field(nn.Module):
    """v(x, t) = x @ Aᵀ + c, with a parameter so gradients can be checked."""

    def __init__(self, A: torch.Tensor, c: torch.Tensor) -> None:
        super().__init__()
        self.A = nn.Parameter(A.clone())
        self.c = nn.Parameter(c.clone())
        self.encoder = None
        self.data_shape = (2,)

    def forward(self, x: torch.Tensor, t: torch.Tensor, head: int = 1) -> torch.Tensor:
        return x @ self.A.T + self.c


def _constant(c: list[float]) -> _Field:
    return _Field(torch.zeros(2, 2), torch.tensor(c))


def test_consistency_function_is_the_identity_at_t0_and_an_euler_jump_otherwise() -> None:
    field = _constant([1.0, -2.0])
    x = torch.randn(5, 2)
    torch.testing.assert_close(ConsistencyDistillation.consistency_function(field, x, torch.zeros(5)), x)
    t = torch.rand(5)
    torch.testing.assert_close(ConsistencyDistillation.consistency_function(field, x, t),
                               x - t[:, None] * torch.tensor([1.0, -2.0]))


def test_consistency_loss_is_zero_on_a_constant_field_and_positive_on_a_curved_one() -> None:
    method = ConsistencyDistillation(coupling="independent")
    z0 = torch.randn(32, 2)
    constant = _constant([0.5, 1.5])
    assert float(method.loss(constant, constant, constant, z0)["loss"].detach()) == pytest.approx(0.0, abs=1e-12)
    curved = _Field(torch.tensor([[0.0, 2.0], [-2.0, 0.0]]), torch.zeros(2))  # a rotation: curved paths
    assert float(method.loss(curved, curved, curved, z0, torch.Generator().manual_seed(0))["loss"].detach()) > 1e-4


def test_consistency_gradient_reaches_only_the_student() -> None:
    A = torch.tensor([[0.3, 0.1], [0.0, -0.2]])
    student, target, teacher = (_Field(A, torch.ones(2)) for _ in range(3))
    student.A.data += 0.1
    loss = ConsistencyDistillation(coupling="independent").loss(student, target, teacher, torch.randn(16, 2))["loss"]
    loss.backward()
    assert student.A.grad is not None and float(student.A.grad.abs().sum()) > 0
    assert target.A.grad is None and teacher.A.grad is None


def test_progressive_teacher_slope_is_the_mean_of_two_euler_slopes_on_a_linear_field() -> None:
    A = torch.tensor([[0.5, -1.0], [0.2, 0.3]], dtype=torch.float64)
    field = _Field(A, torch.zeros(2, dtype=torch.float64)).double()
    x, t, h = torch.randn(4, 2, dtype=torch.float64), torch.full((4,), 0.5, dtype=torch.float64), 0.125
    expected = x @ A.T - h / 2 * x @ (A @ A).T  # ½(Ax + A(x − hAx))
    torch.testing.assert_close(ProgressiveDistillation.teacher_slope(field, x, t, h), expected)


def test_progressive_loss_is_zero_when_student_equals_a_constant_teacher() -> None:
    field = _constant([2.0, -1.0])
    loss = ProgressiveDistillation(coupling="independent").loss(field, field, torch.randn(8, 2), student_steps=4)
    assert float(loss["loss"].detach()) == pytest.approx(0.0, abs=1e-12)


def test_progressive_rounds_halve_to_the_final_step_count() -> None:
    method = ProgressiveDistillation(ProgressiveConfig(start_steps=16, final_steps=1))
    assert method.config.rounds == 4
    assert [method.student_steps(r) for r in range(4)] == [8, 4, 2, 1]
    with pytest.raises(ConfigError, match="power of 2"):
        ProgressiveConfig(start_steps=12, final_steps=1)
    with pytest.raises(ConfigError, match="coupling"):
        ConsistencyDistillation(coupling="optimal")


@pytest.fixture(scope="module")
def teacher():
    data = load_training_data("8gaussians")
    train = TrainConfig(steps=300, batch_size=128, lr=2e-3, ema_decay=0.9, seed=0)
    run = fit(data, CUDConfig.flow_matching(), NetworkConfig.mlp(width=48, depth=2, dropout=0.0), train, progress=False)
    return data, run.sampling_model, train


def _one_step_swd(model: nn.Module, data) -> float:
    x = sample(model, 800, steps=1, generator=torch.Generator().manual_seed(1)).samples
    return sliced_wasserstein(x, data.reference(800, torch.Generator().manual_seed(2)))


@pytest.mark.slow  # a few seconds on an idle core, minutes on the shared machine
@pytest.mark.parametrize("distill", [distill_consistency, distill_progressive])
def test_a_short_distillation_improves_one_step_samples(teacher, distill) -> None:
    data, model, train = teacher
    config = ConsistencyConfig() if distill is distill_consistency else ProgressiveConfig()
    result = distill(model, data, config, train.replace(steps=160), coupling="independent", progress=False)
    assert _one_step_swd(result.sampling_model, data) < 0.7 * _one_step_swd(model, data)
