"""Exact W2 on samples and straightness of paths, against closed forms and POT."""

from __future__ import annotations

import pytest
import torch

from methodzoo.cud.evaluation import exact_wasserstein2, straightness
from methodzoo.shared.errors import ConfigError


def _sample(n: int = 64, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_w2_of_a_translation_is_the_shift_length() -> None:
    x = _sample()
    shift = torch.tensor([0.3, -0.4], dtype=torch.float64)
    assert exact_wasserstein2(x, x + shift) == pytest.approx(0.5, rel=1e-9)


def test_w2_ignores_the_order_of_the_samples() -> None:
    x = _sample()
    assert exact_wasserstein2(x, x[torch.randperm(len(x), generator=torch.Generator().manual_seed(1))]) == 0.0


def test_w2_in_one_dimension_matches_sorted_matching() -> None:
    x, y = _sample(50, 2)[:, :1], 3 * _sample(50, 3)[:, :1] + 1
    closed_form = (torch.sort(x, dim=0).values - torch.sort(y, dim=0).values).square().mean().sqrt()
    assert exact_wasserstein2(x, y) == pytest.approx(float(closed_form), rel=1e-9)


def test_w2_matches_pot_emd2() -> None:
    ot = pytest.importorskip("ot")
    x, y = _sample(80, 4), 0.5 * _sample(80, 5) + 1
    weights = torch.full((80,), 1 / 80, dtype=torch.float64).numpy()
    reference = ot.emd2(weights, weights, torch.cdist(x, y).square().numpy()) ** 0.5
    assert exact_wasserstein2(x, y) == pytest.approx(reference, rel=1e-7)


def test_w2_rejects_unequal_samples() -> None:
    with pytest.raises(ConfigError, match="same shape"):
        exact_wasserstein2(_sample(10), _sample(11))


def test_straight_uniform_paths_have_zero_straightness() -> None:
    start, end = _sample(), _sample(seed=1)
    path = [start + (end - start) * i / 8 for i in range(9)]
    assert straightness(path) == pytest.approx(0.0, abs=1e-20)


def test_a_path_that_jumps_then_stays_has_straightness_n_minus_1_times_its_length() -> None:
    start, end = _sample(), _sample(seed=1)
    steps = 4
    path = [start] + [end] * steps
    expected = (steps - 1) * (end - start).square().sum(dim=1).mean()
    assert straightness(path) == pytest.approx(float(expected), rel=1e-9)
