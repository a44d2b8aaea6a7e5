"""Distillation: weight 0 is cross-entropy, the T² factor keeps the soft gradient's size, FitNets
hints and attention transfer against independent computations."""

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.errors import UserError


def test_zero_weight_is_plain_cross_entropy() -> None:
    student, teacher = torch.randn(6, 5), torch.randn(6, 5)
    labels = torch.randint(0, 5, (6,))
    torch.testing.assert_close(C.distillation_loss(student, teacher, labels, temperature=3.0, weight=0.0),
                               nn.functional.cross_entropy(student, labels))


def test_soft_term_matches_the_formula() -> None:
    generator = torch.Generator().manual_seed(0)
    student, teacher = torch.randn(4, 3, generator=generator), torch.randn(4, 3, generator=generator)
    labels = torch.tensor([0, 1, 2, 0])
    T, w = 2.5, 0.7
    p_t = (teacher / T).softmax(-1)
    kl = (p_t * (p_t.log() - (student / T).log_softmax(-1))).sum(-1).mean()
    expected = (1 - w) * nn.functional.cross_entropy(student, labels) + w * T**2 * kl
    torch.testing.assert_close(C.distillation_loss(student, teacher, labels, T, w), expected)


def test_t_squared_keeps_the_soft_gradient_magnitude_at_large_temperature() -> None:
    generator = torch.Generator().manual_seed(1)
    teacher = torch.randn(32, 10, generator=generator)
    base = torch.randn(32, 10, generator=generator)
    norms = []
    for T in (8.0, 16.0, 32.0):
        student = base.clone().requires_grad_(True)
        C.distillation_loss(student, teacher, torch.zeros(32, dtype=torch.long), T, weight=1.0).backward()
        norms.append(float(student.grad.norm()))
    # without T² the gradient would shrink like 1/T², i.e. 16× from T=8 to T=32
    assert max(norms) / min(norms) < 1.2


def test_hint_loss_with_a_regressor() -> None:
    regressor = C.HintRegressor(3, 5)
    student, teacher = torch.randn(2, 3, 4, 4), torch.randn(2, 5, 4, 4)
    expected = 0.5 * (teacher - regressor(student)).pow(2).sum((1, 2, 3)).mean()
    torch.testing.assert_close(C.hint_loss(student, teacher, regressor), expected)
    with pytest.raises(UserError, match="hint shapes"):
        C.hint_loss(student, teacher)


def test_attention_transfer_is_zero_for_proportional_maps_and_matches_the_formula() -> None:
    student = torch.randn(3, 4, 5, 5)
    assert float(C.attention_transfer_loss([student], [2.0 * student])) == pytest.approx(0.0, abs=1e-6)
    teacher = torch.randn(3, 8, 5, 5)
    q_s = student.pow(2).sum(1).reshape(3, -1)
    q_t = teacher.pow(2).sum(1).reshape(3, -1)
    expected = (q_s / q_s.norm(dim=1, keepdim=True) - q_t / q_t.norm(dim=1, keepdim=True)).norm(dim=1).mean()
    torch.testing.assert_close(C.attention_transfer_loss([student], [teacher]), expected)


def test_distill_trains_a_student_towards_the_teacher() -> None:
    torch.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 3))
    student = nn.Sequential(nn.Linear(4, 3))
    x = torch.randn(256, 4)
    labels = teacher(x).argmax(1).detach()
    history = C.distill(teacher, student, C.Distillation(temperature=2.0, weight=0.5),
                        lambda step: (x, labels), torch.optim.Adam(student.parameters(), lr=0.05), 60)
    assert history.loss[-1] < 0.6 * history.loss[0]
    with C.FeatureTap(teacher, ["0"]) as tap:
        teacher(x[:2])
    assert tap.features["0"].shape == (2, 16)
