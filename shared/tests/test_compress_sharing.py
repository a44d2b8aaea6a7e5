"""k-means weight sharing and Huffman coding (Deep Compression): at most 2^b values, centroid
gradients summing their members', prefix-free codes that round-trip with H ≤ L < H + 1."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress.sharing import encoded_bits, relative_positions
from methodzoo.shared.testing import TinyConvNet


@pytest.mark.parametrize("bits", [2, 3, 5])
def test_shared_layers_take_at_most_two_to_the_bits_values(bits: int) -> None:
    model = TinyConvNet()
    C.prune_(model, C.MagnitudePruning(0.6))
    masks = C.masked_tensors(model)
    C.quantize_(model, C.WeightSharing(bits=bits))
    for name, mask in masks.items():
        module_name, _, tensor = name.rpartition(".")
        weight = getattr(model.get_submodule(module_name), tensor).detach()
        assert len(torch.unique(weight[mask])) <= 2**bits
        assert bool((weight[~mask] == 0).all())


def test_kmeans_reaches_a_fixed_point_of_lloyd() -> None:
    values = torch.randn(2000, generator=torch.Generator().manual_seed(0))
    centroids, assignment = C.kmeans_1d(values, 8)
    for k in range(8):
        members = values[assignment == k]
        if members.numel():
            assert float(centroids[k]) == pytest.approx(float(members.double().mean()), abs=1e-5)
    nearest = (values[:, None] - centroids[None, :]).abs().argmin(1)
    assert torch.equal(nearest, assignment)


def test_centroid_gradient_is_the_sum_of_its_members_gradients() -> None:
    layer = nn.Linear(12, 5)
    C.quantize_(nn.Sequential(layer), C.WeightSharing(bits=2))
    x = torch.randn(7, 12, generator=torch.Generator().manual_seed(1))
    layer(x).pow(2).sum().backward()
    codebook = layer.parametrizations.weight.original
    indices = layer.parametrizations.weight[0].indices.long()
    effective = layer.weight.detach().requires_grad_(True)
    nn.functional.linear(x, effective, layer.bias.detach()).pow(2).sum().backward()
    expected = torch.zeros(4).index_add_(0, indices.reshape(-1), effective.grad.reshape(-1))
    torch.testing.assert_close(codebook.grad, expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=300))
def test_huffman_round_trip_prefix_free_and_within_one_bit_of_entropy(symbols: list[int]) -> None:
    counts = {s: symbols.count(s) for s in set(symbols)}
    code = C.huffman_code(counts)
    words = list(code.codes.values())
    assert not any(a != b and b.startswith(a) for a in words for b in words)
    data, bit_count = code.encode(symbols)
    assert code.decode(data, bit_count) == symbols
    mean_length = code.length(counts) / len(symbols)
    entropy = C.entropy_bits(counts)
    if len(counts) > 1:
        assert entropy - 1e-9 <= mean_length < entropy + 1
    else:
        assert mean_length == 1.0  # one symbol still costs a bit


def test_relative_positions_decode_back_with_fillers() -> None:
    mask = np.zeros(200, dtype=bool)
    mask[[0, 3, 40, 41, 199]] = True
    stream, fillers = relative_positions(mask, index_bits=3)  # gaps up to 8
    assert fillers == (37 - 1) // 8 + (158 - 1) // 8
    position, found = -1, []
    entries = iter(stream)
    for value in entries:
        position += value + 1
        if value == 7 and not mask[position]:
            continue  # a filler: jump without a weight
        found.append(position)
    assert found == [0, 3, 40, 41, 199]


def test_deep_compression_bits_count_every_stream() -> None:
    model = nn.Sequential(nn.Linear(64, 32))
    C.prune_(model, C.MagnitudePruning(0.9))
    C.quantize_(model, C.WeightSharing(bits=4))
    shared = model[0].parametrizations.weight[0]
    codebook = model[0].parametrizations.weight.original
    plain = encoded_bits(shared, codebook, index_bits=5, huffman=False)
    coded = encoded_bits(shared, codebook, index_bits=5, huffman=True)
    kept = int(shared.mask.sum())
    assert plain["values"] >= kept * 4 and plain["codebook"] == 16 * 32
    assert coded["values"] <= plain["values"] + math.ceil(0.0) and coded["positions"] <= plain["positions"]
