"""The survey's metrics: β = α − 1, effective parameters as non-zeros × bits / 32, sizes with
sparse-index and scale overheads, δ from timed runs, FLOPs before and after compact()."""

import copy
import math

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.testing import TinyConvNet


def test_dense_model_counts_every_parameter_at_32_bits() -> None:
    model = nn.Sequential(nn.Linear(10, 4), nn.ReLU(), nn.Linear(4, 2))
    counts = C.parameter_count(model)
    assert counts.nominal == counts.nonzero == 54 and counts.effective == 54.0 and counts.bits == 54 * 32


def test_pruned_layer_is_stored_sparse_with_relative_indices() -> None:
    layer = nn.Linear(100, 10, bias=False)
    model = nn.Sequential(layer)
    C.prune_(model, C.MagnitudePruning(0.9))
    storage = C.weight_storage(model, index_bits=8)
    assert len(storage) == 1 and storage[0].sparse and storage[0].nonzero == 100
    gaps = torch.diff(torch.cat([torch.tensor([-1]), C.masked_tensors(model)["0.weight"].reshape(-1).nonzero()[:, 0]]))
    fillers = int(((gaps - 1) // 256).sum())
    assert storage[0].bits == (100 + fillers) * (32 + 8)
    assert storage[0].effective_parameters == 100.0


def test_fake_quant_bits_and_per_channel_scales() -> None:
    model = nn.Sequential(nn.Linear(16, 8, bias=False))
    C.quantize_(model, C.FakeQuant(bits=4, per_channel=True, symmetric=True))
    (storage,) = C.weight_storage(model)
    nonzero = int(model[0].weight.count_nonzero())  # small weights may round to 0 at 4 bits
    assert storage.bits == 16 * 8 * 4 + 8 * 32  # dense is smaller than sparse at this density
    assert storage.effective_parameters == nonzero * 4 / 32


def test_alpha_beta_and_flops_of_a_compacted_model() -> None:
    dense = TinyConvNet().eval()
    pruned = copy.deepcopy(dense)
    C.prune_(pruned, C.StructuredPruning(0.5, unit="filter"))
    small = C.compact(pruned)
    x = torch.randn(8, 1, 12, 12)
    result = C.report(dense, small, x, rounds=5, warmup=1)
    assert result.alpha > 1.5 and math.isclose(result.beta, result.alpha - 1.0, rel_tol=1e-12)
    assert result.flops_compressed < result.flops_dense and result.flops_effective == result.flops_compressed
    assert set(result.delta) == {1, 8} and all(v > 0 for v in result.delta.values())
    flat = result.to_dict()
    assert {"alpha", "beta", "delta_b1", "delta_b8", "latency_ms_dense_b8"} <= set(flat)


def test_masked_model_has_fewer_effective_flops_but_the_same_run_flops() -> None:
    dense = TinyConvNet().eval()
    pruned = copy.deepcopy(dense)
    C.prune_(pruned, C.MagnitudePruning(0.75, scope="layer"))
    result = C.report(dense, pruned, torch.randn(2, 1, 12, 12), time=False)
    assert result.flops_compressed == result.flops_dense
    assert result.flops_effective == pytest.approx(0.25 * result.flops_dense, rel=0.05)
    assert result.params_nominal == C.parameter_count(dense).nominal
    assert result.alpha > 1.0 and result.delta == {}


def test_int8_layers_count_eight_bits_and_their_scales() -> None:
    model = C.quantize_(nn.Sequential(nn.Linear(16, 8)), C.Int8Dynamic())
    bits = C.size_in_bits(model)
    assert bits == 16 * 8 * 8 + 8 * 32 + 8 * 32  # int8 weights, one scale per row, float bias
