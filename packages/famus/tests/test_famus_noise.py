"""Label noise: the realised rate and the transition structure (binomial band, χ² test)."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from methodzoo.famus import corrupt_labels, transition_matrix
from methodzoo.shared.errors import ConfigError, UserError
from methodzoo.shared.testing import binomial_band

C = 10
N = 20_000


def _labels() -> torch.Tensor:
    return torch.arange(N) % C


@pytest.mark.parametrize(("kind", "flip_rate"), [("symmetric", 0.4 * 0.9), ("symmetric_incl_true", 0.4 * 0.9),
                                                 ("symmetric_excl_true", 0.4), ("pairflip", 0.4),
                                                 ("flip", 0.4), ("flip2", 0.4)])
def test_realised_rate_is_in_the_binomial_band(kind: str, flip_rate: float) -> None:
    noisy = corrupt_labels(_labels(), C, 0.4, kind, generator=0)  # type: ignore[arg-type]
    low, high = binomial_band(N, flip_rate, 0.999)
    assert low <= int(noisy.flipped.sum()) <= high
    assert noisy.expected_rate == pytest.approx(flip_rate)
    assert noisy.realised_rate == pytest.approx(float(noisy.flipped.float().mean()))


@pytest.mark.parametrize("kind", ["symmetric", "symmetric_excl_true", "pairflip", "flip2"])
def test_transition_structure_passes_a_chi_square_test(kind: str) -> None:
    labels = _labels()
    noisy = corrupt_labels(labels, C, 0.4, kind, generator=1)  # type: ignore[arg-type]
    T = noisy.transition
    counts = torch.zeros(C, C, dtype=torch.float64)
    counts.index_put_((labels, noisy.labels), torch.ones(N, dtype=torch.float64), accumulate=True)
    for c in range(C):
        support = T[c] > 0
        assert counts[c][~support].sum() == 0  # nothing lands where T forbids it
        observed = counts[c][support]
        expected = T[c][support] * observed.sum()
        if observed.numel() > 1:
            p = stats.chisquare(observed.numpy(), expected.numpy()).pvalue
            assert p > 1e-4


def test_pairflip_moves_to_the_next_class_only() -> None:
    T = transition_matrix(4, 0.3, "pairflip")
    assert torch.allclose(T, torch.tensor([[0.7, 0.3, 0, 0], [0, 0.7, 0.3, 0], [0, 0, 0.7, 0.3], [0.3, 0, 0, 0.7]],
                                          dtype=torch.float64))


def test_symmetric_variants_and_row_sums() -> None:
    incl = transition_matrix(C, 0.5, "symmetric")
    excl = transition_matrix(C, 0.5, "symmetric_excl_true")
    assert incl[0, 0] == pytest.approx(0.55) and excl[0, 0] == pytest.approx(0.5)
    for kind in ("symmetric", "symmetric_excl_true", "pairflip", "flip", "flip2"):
        assert torch.allclose(transition_matrix(C, 0.5, kind, 0).sum(1), torch.ones(C, dtype=torch.float64))  # type: ignore[arg-type]


def test_same_generator_seed_same_noise() -> None:
    a = corrupt_labels(_labels(), C, 0.4, "flip", generator=7)
    b = corrupt_labels(_labels(), C, 0.4, "flip", generator=7)
    assert torch.equal(a.labels, b.labels) and torch.equal(a.transition, b.transition)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="noise rate"):
        corrupt_labels(_labels(), C, 1.5)
    with pytest.raises(ConfigError, match="unknown noise kind"):
        corrupt_labels(_labels(), C, 0.2, "uniform")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="labels must lie"):
        corrupt_labels(torch.tensor([0, 12]), C, 0.2)
    with pytest.raises(UserError, match="integer"):
        corrupt_labels(torch.zeros(3), C, 0.2)
