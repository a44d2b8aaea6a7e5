"""Entropy models: scale table, STE, bin likelihoods, coding tables (oracles from closed forms)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from methodzoo.ict_codec import FactorizedDensity, GaussianConditional, scale_table
from methodzoo.ict_codec.coding import SymbolDecoder, SymbolEncoder
from methodzoo.ict_codec.entropy import bound_towards, quantize_around_mean


def test_scale_table_matches_compressai_definition() -> None:
    ours = scale_table(0.11, 256, 64)
    expected = [math.exp(math.log(0.11) + k * (math.log(256) - math.log(0.11)) / 63) for k in range(64)]
    assert np.allclose(ours.numpy(), expected, rtol=1e-12)


@pytest.mark.slow
def test_scale_table_equals_compressai() -> None:
    ours = scale_table(0.11, 256, 64)
    compressai_models = pytest.importorskip("compressai.models.google")
    theirs = compressai_models.get_scale_table(0.11, 256, 64)
    assert torch.allclose(ours.float(), theirs.float(), atol=1e-6, rtol=1e-6)


def test_scale_index_maps_to_table_and_back() -> None:
    gc = GaussianConditional()
    index = torch.arange(64, dtype=torch.float64)
    assert torch.allclose(gc.scale_from_index(index), gc.scale_table, rtol=1e-6)
    assert torch.allclose(gc.index_from_scale(gc.scale_table), index, atol=1e-6)
    assert gc.coding_index(torch.tensor([-3.0, 0.4, 0.6, 62.7, 99.0, float("nan")])).tolist() == [0, 0, 1, 63, 63, 0]


def test_bound_passes_gradients_that_push_back_into_range() -> None:
    x = torch.tensor([-2.0, -2.0, 0.5, 0.5, 70.0, 70.0], requires_grad=True)
    upstream = torch.tensor([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0])
    y = bound_towards(x, 0.0, 63.0)
    assert torch.equal(y.detach(), x.detach().clamp(0, 63))  # the forward is the clamp
    y.backward(upstream)
    # Below the range only a negative gradient (descent raises x) flows, above it only a positive one.
    assert x.grad.tolist() == [-1.0, 0.0, -1.0, 1.0, 0.0, 1.0]


def test_out_of_range_scale_index_still_learns() -> None:
    """An index predicted below 0 for symbols ±1 gets a gradient towards the range; a plain clamp gives 0."""
    gc = GaussianConditional()
    symbols = torch.tensor([1.0, -1.0, 1.0, -1.0])  # at σ = 0.11 these cost ~18 bits: a larger σ is better

    def index_gradient(bound: str) -> torch.Tensor:
        index = torch.full((4,), -5.0, requires_grad=True)
        scale = gc.scale_from_index(index) if bound == "towards" else gc.scale_from_index(index.clamp(0, 63))
        (-torch.log2(gc.likelihood(symbols, torch.zeros(4), scale)).sum()).backward()
        assert index.grad is not None
        return index.grad

    assert (index_gradient("towards") < 0).all()  # descent raises the index
    assert (index_gradient("clamp") == 0).all()


def test_quantize_around_mean_forward_and_straight_through_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    y = (torch.randn(2, 4, 5, 5, generator=g) * 3).requires_grad_()
    mu = torch.randn(2, 4, 5, 5, generator=g) * 2
    y_hat = quantize_around_mean(y, mu)
    assert torch.equal(y_hat.detach(), torch.round(y.detach() - mu) + mu)
    y_hat.sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))


@pytest.mark.parametrize("scale", [0.11, 0.5, 3.0, 40.0])
def test_gaussian_bin_likelihoods_sum_to_one_and_match_erf(scale: float) -> None:
    gc = GaussianConditional()
    support = torch.arange(-2000, 2001, dtype=torch.float64)
    mu = torch.full_like(support, 0.3)
    p = gc.likelihood(support + 0.3, mu, torch.full_like(support, scale))
    assert abs(float(p.sum()) - 1.0) < 1e-5  # 4001 bins floored at 1e-9
    phi = lambda t: 0.5 * (1 + math.erf(t / math.sqrt(2)))  # noqa: E731
    assert math.isclose(float(p[2001]), phi(1.5 / scale) - phi(0.5 / scale), rel_tol=1e-9, abs_tol=1e-9)


def test_gaussian_tables_are_normalised_with_small_escape_mass() -> None:
    gc = GaussianConditional()
    for k in (0, 20, 63):
        n = int(gc.table_length[k])
        row = gc.table_pmf[k, :n]
        assert abs(float(row.sum()) - 1.0) < 1e-8
        assert float(row[-1]) <= 1e-8  # escape symbol carries only the tail mass


def test_factorized_density_is_a_distribution_and_tables_agree() -> None:
    torch.manual_seed(0)
    density = FactorizedDensity(3, (3, 3))
    z = torch.arange(-400, 401, dtype=torch.float32).view(1, 1, -1, 1).expand(1, 3, -1, 1).contiguous()
    p = density.likelihood(z)
    assert torch.allclose(p.sum(dim=2), torch.ones(1, 3, 1), atol=1e-4)
    assert density.update()
    assert not density.update()  # tables are current: nothing to rebuild
    for c in range(3):
        n = int(density.table_length[c]) - 1
        values = torch.arange(n) - int(density.table_offset[c])
        table = density.table_pmf[c, :n]
        direct = p[0, c, values + 400, 0].double()
        assert torch.allclose(table, direct, atol=1e-6)
    with torch.no_grad():
        density.biases[0].add_(1.0)
    assert not density.tables_current()


def test_symbol_coder_round_trip_with_escapes_and_near_entropy_rate() -> None:
    rng = np.random.default_rng(0)
    pmf = np.array([[0.1, 0.2, 0.4, 0.2, 0.0999, 0.0001], [0.5, 0.4999, 0.0001, 0, 0, 0]])
    offsets = np.array([2, 0])
    lengths = np.array([6, 3])
    rows = rng.integers(0, 2, size=20000)
    values = np.where(rows == 0, rng.choice(5, size=20000, p=pmf[0, :5] / pmf[0, :5].sum()) - 2,
                      rng.integers(0, 2, size=20000))
    values[[5, 77, 901]] = [10**12, -(10**9), 12345]  # out of range: escaped
    encoder = SymbolEncoder()
    encoder.encode(values.astype(np.int64), rows, pmf, offsets, lengths)
    data = encoder.finish()
    decoder = SymbolDecoder(data)
    assert np.array_equal(decoder.decode(rows, pmf, offsets, lengths), values)
    decoder.check_exhausted()
    p = np.where(rows == 0, pmf[0, np.clip(values + 2, 0, 5)], pmf[1, np.clip(values, 0, 2)])
    ideal_bits = -np.log2(np.clip(p, 1e-12, 1)).sum()
    assert 8 * len(data) < 1.02 * ideal_bits + 200


@pytest.mark.parametrize("high", [1, 7, 300, 70_000])
def test_symbols_are_grouped_by_row_in_ascending_order_of_row_and_position(high: int) -> None:
    from methodzoo.ict_codec.coding import _groups

    rows = np.random.default_rng(high).integers(0, high, size=5_000)
    groups = _groups(rows)
    assert [row for row, _ in groups] == sorted(set(rows.tolist()))  # each row once, ascending
    for row, positions in groups:
        assert np.array_equal(positions, np.flatnonzero(rows == row))  # all its positions, ascending
    assert _groups(np.zeros(0, dtype=np.int64)) == []
