"""Low rank: truncated SVD meets the Eckart–Young bound, full rank reproduces the layer, the
parameter count is k(m+n)+m, energy picks the right rank, Tucker-2 reproduces convolutions."""

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress.lowrank import energy_rank, tucker2
from methodzoo.shared.errors import UserError
from methodzoo.shared.modules import count_parameters


@pytest.mark.parametrize("rank", [1, 3, 7])
def test_svd_error_equals_the_eckart_young_bound(rank: int) -> None:
    layer = nn.Linear(12, 9)
    weight = layer.weight.detach().clone()
    model = C.factorize_(nn.Sequential(layer), C.LowRank(rank=rank, only_if_smaller=False))
    factorized = model[0]
    approximation = (factorized.second.weight @ factorized.first.weight).detach()
    singular = torch.linalg.svdvals(weight.double())
    bound = singular[rank:].pow(2).sum().sqrt()
    assert float((weight - approximation).norm()) == pytest.approx(float(bound), rel=1e-4)
    assert count_parameters(factorized) == rank * (9 + 12) + 9


def test_full_rank_reproduces_the_layer() -> None:
    layer = nn.Linear(10, 6)
    x = torch.randn(4, 10)
    expected = layer(x).detach()
    model = C.factorize_(nn.Sequential(layer), C.LowRank(energy=1.0, only_if_smaller=False))
    assert isinstance(model[0], C.FactorizedLinear)
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)


def test_energy_rank_is_the_smallest_rank_reaching_the_energy() -> None:
    singular = torch.tensor([3.0, 2.0, 1.0, 0.5])  # squares 9, 4, 1, 0.25 of 14.25
    assert energy_rank(singular, 0.6) == 1 and energy_rank(singular, 0.9) == 2
    assert energy_rank(singular, 9.0 / 14.25) == 1 and energy_rank(singular, 0.99) == 4


def test_layers_that_would_grow_are_left_alone() -> None:
    model = C.factorize_(nn.Sequential(nn.Linear(4, 4)), C.LowRank(rank=3))
    assert isinstance(model[0], nn.Linear)


def test_tucker2_full_rank_reproduces_a_convolution_and_truncation_helps_hooi() -> None:
    conv = nn.Conv2d(6, 8, 3, padding=1, stride=2)
    x = torch.randn(2, 6, 9, 9)
    expected = conv(x).detach()
    model = C.factorize_(nn.Sequential(conv), C.LowRank(energy=1.0, only_if_smaller=False))
    assert isinstance(model[0], C.Tucker2Conv)
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=1e-5)
    weight = torch.randn(16, 12, 3, 3, generator=torch.Generator().manual_seed(0))
    errors = []
    for iterations in (0, 10):
        core, u_out, u_in = tucker2(weight, C.LowRank(rank=5, tucker_iterations=iterations))
        rebuilt = torch.einsum("abkl,oa,ib->oikl", core, u_out, u_in)
        errors.append(float((weight - rebuilt).norm()))
    assert errors[1] <= errors[0] + 1e-6


def test_pointwise_convolutions_are_factorised_by_svd() -> None:
    model = C.factorize_(nn.Sequential(nn.Conv2d(32, 32, 1)), C.LowRank(rank=4))
    assert isinstance(model[0], C.FactorizedLinear) and model[0].first.weight.shape == (4, 32, 1, 1)


def test_rank_and_energy_are_exclusive() -> None:
    with pytest.raises(UserError, match="exactly one"):
        C.LowRank(rank=2, energy=0.9)
    with pytest.raises(UserError, match="exactly one"):
        C.LowRank()
