"""Structured pruning and compact(): group discovery, and compacted logits equal to the masked
model's for filters (with BatchNorm), neurons, and attention heads."""

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress.groups import find_groups
from methodzoo.shared.errors import UserError
from methodzoo.shared.modules import count_parameters
from methodzoo.shared.testing import QKVOAttention, ResidualBlock, TinyConvNet, randomize_batchnorm_


def _assert_compact_matches(model: nn.Module, *inputs: torch.Tensor, train: bool = False) -> nn.Module:
    small = C.compact(model)
    model.train(train)
    small.train(train)
    with torch.no_grad():
        torch.testing.assert_close(small(*inputs), model(*inputs), atol=2e-5, rtol=1e-5)
    return small


def test_groups_follow_batchnorm_activation_pooling_and_flatten() -> None:
    model = TinyConvNet()
    filters = {g.producer: g for g in find_groups(model, "filter")}
    assert set(filters) == {"conv1", "conv2"}
    consumer = filters["conv2"].slices[-1]
    assert (consumer.module, consumer.dim, consumer.block) == ("fc1", 1, 4)  # 2×2 positions per channel
    assert {s.module for s in filters["conv1"].slices} == {"conv1", "bn1", "conv2"}
    assert [g.producer for g in find_groups(model, "neuron")] == ["fc1"]  # fc2 feeds the output


def test_a_producer_feeding_a_residual_addition_is_not_pruned() -> None:
    assert [g.producer for g in find_groups(ResidualBlock(), "filter")] == ["conv1"]


@pytest.mark.parametrize("unit", ["filter", "neuron"])
def test_compact_equals_masked_model_for_filters_and_neurons(unit: str) -> None:
    generator = torch.Generator().manual_seed(0)
    model = randomize_batchnorm_(TinyConvNet(), generator)
    C.prune_(model, C.StructuredPruning(0.5, unit=unit))
    x = torch.randn(5, 1, 12, 12, generator=generator)
    small = _assert_compact_matches(model, x)
    assert count_parameters(small) < count_parameters(TinyConvNet())
    if unit == "filter":
        assert (small.conv1.out_channels, small.bn1.num_features, small.conv2.in_channels) == (3, 3, 3)
        assert small.bn2.running_mean.shape == (6,) and small.fc1.in_features == 6 * 4


def test_masked_filter_takes_its_batchnorm_channel_and_consumer_columns() -> None:
    model = randomize_batchnorm_(TinyConvNet(), torch.Generator().manual_seed(1))
    C.prune_(model, C.StructuredPruning(0.5, unit="filter", include=("conv1",)))
    masks = C.masked_tensors(model)
    dropped = ~masks["conv1.weight"][:, 0, 0, 0]
    assert not masks["bn1.weight"][dropped].any() and not masks["bn1.bias"][dropped].any()
    assert not masks["conv2.weight"][:, dropped].any()


def test_compact_training_mode_batchnorm_matches_too() -> None:
    model = randomize_batchnorm_(TinyConvNet(), torch.Generator().manual_seed(2))
    C.prune_(model, C.StructuredPruning(0.34, unit="filter"))
    _assert_compact_matches(model, torch.randn(6, 1, 12, 12), train=True)


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("separate_kv", [False, True])
def test_compact_removes_heads_of_multihead_attention(batch_first: bool, separate_kv: bool) -> None:
    class Box(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            kdim = 12 if separate_kv else None
            self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first, kdim=kdim, vdim=kdim)

        def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
            # the averaged attention weights differ by design: pruned heads no longer take part
            return self.attn(q, kv, kv)[0]

    model = Box()
    C.prune_(model, C.StructuredPruning(0.5, unit="head"))
    shape = (2, 5) if batch_first else (5, 2)
    q = torch.randn(*shape, 16)
    kv = torch.randn(*shape, 12 if separate_kv else 16)
    small = _assert_compact_matches(model, q, kv)
    assert isinstance(small.attn, C.CompactMultiheadAttention) and small.attn.num_heads == 2
    assert count_parameters(small) < count_parameters(model)


@pytest.mark.parametrize("train", [True, False])
def test_compact_transformer_layer_heads_and_ffn_neurons(train: bool) -> None:
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
    C.prune_(layer, C.StructuredPruning(0.5, unit="head"))
    C.prune_(layer, C.StructuredPruning(0.5, unit="neuron"))
    small = _assert_compact_matches(layer, torch.randn(2, 6, 16), train=train)
    assert small.linear1.out_features == 16 and small.self_attn.num_heads == 2


def test_compact_a_qkvo_attention_module() -> None:
    model = QKVOAttention(16, 4)
    C.prune_(model, C.StructuredPruning(0.25, unit="head"))
    small = _assert_compact_matches(model, torch.randn(2, 5, 16))
    assert small.num_heads == 3 and small.q_proj.out_features == 12


def test_compact_keeps_unstructured_masks_and_leaves_the_source_untouched() -> None:
    model = randomize_batchnorm_(TinyConvNet(), torch.Generator().manual_seed(3))
    C.prune_(model, C.StructuredPruning(0.5, unit="filter"))
    C.prune_(model, C.MagnitudePruning(0.5, include=("fc*",)))
    small = _assert_compact_matches(model, torch.randn(3, 1, 12, 12))
    assert "fc1.weight" in C.masked_tensors(small)
    assert model.conv1.weight.shape[0] == 6


def test_parameter_count_matches_torch_pruning() -> None:
    tp = pytest.importorskip("torch_pruning")
    ours = TinyConvNet()
    C.prune_(ours, C.StructuredPruning(0.5, unit="filter"))
    peer = TinyConvNet()
    pruner = tp.pruner.MetaPruner(peer, torch.randn(1, 1, 12, 12), importance=tp.importance.MagnitudeImportance(p=1),
                                  pruning_ratio=0.5, ignored_layers=[peer.fc1, peer.fc2])
    pruner.step()
    assert count_parameters(C.compact(ours)) == count_parameters(peer)


def test_structured_pruning_of_an_untraceable_model_still_finds_traceable_blocks() -> None:
    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.block = nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if x.sum() > 0:  # data-dependent: torch.fx cannot trace this
                return self.block(x)
            return self.block(-x)

    assert [g.producer for g in find_groups(Branchy(), "neuron")] == ["block.0"]


def test_nothing_to_prune_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no prunable"):
        C.prune_(nn.Sequential(nn.Linear(4, 2)), C.StructuredPruning(0.5, unit="neuron"))
