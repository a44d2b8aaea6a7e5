"""The conditional utilization rate: the formula on hand examples, and utilization_rates on any
two-branch model holding MMTM layers."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from methodzoo.greedy_mm import (
    MMTM,
    UndefinedUtilizationWarning,
    conditional_utilization,
    squeeze_statistics,
    utilization_rates,
)
from methodzoo.greedy_mm.mmtm import substituted_squeeze


@pytest.mark.parametrize("joint, alone, expected", [
    (0.8, 0.6, 0.25),
    (0.5, 0.5, 0.0),
    (0.4, 0.6, -0.5),  # the branch does better without the other modality: negative
    (0.1, 0.9, -8.0),  # far below −1: d_util is not bounded by [−1, 1]
])
def test_formula_on_hand_examples(joint: float, alone: float, expected: float) -> None:
    assert conditional_utilization(joint, alone) == pytest.approx(expected)


def test_zero_joint_accuracy_gives_nan_with_a_warning() -> None:
    with pytest.warns(UndefinedUtilizationWarning, match="joint accuracy is 0"):
        assert math.isnan(conditional_utilization(0.0, 0.3))


class VectorPair(nn.Module):
    """A user's own two-branch model: linear branches, one MMTM, returns the pair (ŷ0, ŷ1)."""

    def __init__(self) -> None:
        super().__init__()
        self.enc0, self.enc1 = nn.Linear(2, 4), nn.Linear(3, 6)
        self.fusion = MMTM(4, 6)
        self.head0, self.head1 = nn.Linear(4, 2), nn.Linear(6, 2)

    def forward(self, x0: torch.Tensor, x1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f0, f1 = self.fusion(torch.relu(self.enc0(x0)), torch.relu(self.enc1(x1)))
        return self.head0(f0), self.head1(f1)


def _batches(seed: int, count: int = 3) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(16, 2, generator=generator), torch.randn(16, 3, generator=generator),
             torch.randint(0, 2, (16,), generator=generator)) for _ in range(count)]


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return float((logits.argmax(1) == labels).float().mean())


def test_rates_match_an_independent_evaluation_on_a_user_model() -> None:
    torch.manual_seed(0)
    model = VectorPair().eval()
    train, test = _batches(1), _batches(2)
    stats = squeeze_statistics(model, train)
    inputs0 = torch.cat([torch.relu(model.enc0(b[0])) for b in train])
    inputs1 = torch.cat([torch.relu(model.enc1(b[1])) for b in train])
    torch.testing.assert_close(stats.means[0][0], inputs0.mean(0).detach())
    torch.testing.assert_close(stats.means[0][1], inputs1.mean(0).detach())

    rates = utilization_rates(model, test, stats)
    x0, x1, y = (torch.cat(parts) for parts in zip(*test, strict=True))
    with torch.no_grad():
        y0, y1 = model(x0, x1)
        with substituted_squeeze(model, stats.means):
            a0, a1 = model(x0, x1)
    assert rates.acc_joint0 == pytest.approx(_accuracy(y0, y))
    assert rates.acc_alone0 == pytest.approx(_accuracy(a0, y))
    assert rates.acc_alone1 == pytest.approx(_accuracy(a1, y))
    assert rates.acc_ensemble == pytest.approx(_accuracy((y0 + y1) / 2, y))
    u10 = (rates.acc_joint0 - rates.acc_alone0) / rates.acc_joint0
    u01 = (rates.acc_joint1 - rates.acc_alone1) / rates.acc_joint1
    assert rates.u_m1_given_m0 == pytest.approx(u10) and rates.u_m0_given_m1 == pytest.approx(u01)
    assert rates.d_util == pytest.approx(u10 - u01)

    ensemble = utilization_rates(model, test, stats, prediction="ensemble")
    assert ensemble.acc_joint0 == ensemble.acc_joint1 == pytest.approx(rates.acc_ensemble)
    assert ensemble.acc_alone0 == rates.acc_alone0


def test_model_without_fusion_or_mismatched_statistics_is_a_clear_error() -> None:
    from methodzoo.shared.errors import ConfigError

    with pytest.raises(ConfigError, match="no MMTM"):
        squeeze_statistics(nn.Linear(2, 2), _batches(0))
    model = VectorPair().eval()
    stats = squeeze_statistics(model, _batches(0))
    stats.means[0] = (stats.means[0][0], torch.zeros(5))
    with pytest.raises(ConfigError, match="do not fit"):
        utilization_rates(model, _batches(1), stats)
