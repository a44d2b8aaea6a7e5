import copy

import pytest
import torch

from methodzoo.shared import compress as C
from methodzoo.train_large_compress.compression import (
    compression_sweep,
    prune_iterative,
    prune_one_shot,
    quantize_ptq,
    quantize_qat,
    storage_bits,
    weight_sparsity,
)
from methodzoo.train_large_compress.config import CompressConfig, ModelConfig
from methodzoo.train_large_compress.models import MaskedLanguageModel

CONFIG = ModelConfig(vocab_size=20, width=8, depth=2, heads=1, ffn=16, max_length=6, dropout=0.0)


def _model(seed: int = 0) -> MaskedLanguageModel:
    torch.manual_seed(seed)
    model = MaskedLanguageModel(CONFIG)
    with torch.no_grad():
        for parameter in model.parameters():  # no exact zeros: every tensor is stored dense
            parameter.uniform_(0.1, 1.0).mul_(torch.randint(0, 2, parameter.shape) * 2 - 1)
    return model


def _batch(seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 20, (4, 6), generator=generator)
    labels = torch.where(torch.rand(4, 6, generator=generator) < 0.5, ids, torch.full_like(ids, -100))
    return ids, labels


def _linear_shapes(model: torch.nn.Module) -> list[tuple[int, int]]:
    return [tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear)]


def test_dense_size_is_32_bits_per_parameter() -> None:
    model = _model()
    total = sum(p.numel() for p in model.parameters())
    assert storage_bits(model) == (32 * total, 32 * total)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_quantized_size_against_a_hand_count(bits: int) -> None:
    model = _model()
    quantized = quantize_ptq(model, bits, per_channel=True, symmetric=True)
    linear = _linear_shapes(model)
    linear_weights = sum(o * i for o, i in linear)
    others = sum(p.numel() for p in model.parameters()) - linear_weights
    # b bits per weight, one fp32 scale per output channel, everything else fp32
    hand = bits * linear_weights + 32 * sum(o for o, _ in linear) + 32 * others
    size, payload = storage_bits(quantized)
    if bits >= 4:
        assert size == hand
    else:
        assert size <= hand  # 2-bit grids are mostly zeros; the accounting may store them sparse
    assert payload <= bits * linear_weights + 32 * others


def test_pruned_payload_against_a_hand_count() -> None:
    model = _model()
    pruned = prune_one_shot(model, 0.9)
    linear_weights = sum(o * i for o, i in _linear_shapes(model))
    others = sum(p.numel() for p in model.parameters()) - linear_weights
    kept = linear_weights - round(0.9 * linear_weights)
    _, payload = storage_bits(pruned)
    assert abs(payload - 32 * (kept + others)) <= 32  # within one element of the target sparsity
    assert weight_sparsity(pruned) == pytest.approx(0.9, abs=1 / linear_weights)
    assert weight_sparsity(model) == 0.0  # the original is untouched


def test_qat_gradient_is_straight_through_inside_the_range() -> None:
    model = _model()
    quantized = quantize_ptq(model, 3)
    plain = copy.deepcopy(model)
    with torch.no_grad():  # the plain model computes with the quantized values as its own weights
        for name, twin in plain.named_modules():
            if isinstance(twin, torch.nn.Linear):
                twin.weight.copy_(quantized.get_submodule(name).weight)
    ids, labels = _batch()
    quantized.loss(ids, labels).backward()
    plain.loss(ids, labels).backward()
    layer = quantized.encoder.layers[0].feed_forward.inner
    original = layer.parametrizations.weight.original
    torch.testing.assert_close(original.grad, plain.encoder.layers[0].feed_forward.inner.weight.grad)
    assert not torch.equal(layer.weight, original)  # the forward pass did use the quantized weights


def test_straight_through_gradient_is_zero_where_values_are_clipped() -> None:
    x = torch.tensor([-3.0, -0.4, 0.0, 0.7, 2.9], requires_grad=True)
    scale = torch.tensor(0.25)
    y = C.fake_quantize(x, scale, torch.tensor(0.0), bits=3, symmetric=True)  # grid ±3·0.25
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
    assert y.detach().tolist() == [-0.75, -0.5, 0.0, 0.75, 0.75]


def test_qat_and_iterative_pruning_train_through_their_compression() -> None:
    model = _model()
    ids, labels = _batch()

    def loss(candidate: torch.nn.Module, step: int) -> torch.Tensor:
        return candidate.loss(ids, labels)

    before = quantize_ptq(model, 2).loss(ids, labels).item()
    after = quantize_qat(model, 2, loss, steps=30, lr=3e-2).loss(ids, labels).item()
    assert after < before
    pruned = prune_iterative(model, 0.8, loss, steps=8, rounds=4, lr=1e-3)
    assert weight_sparsity(pruned) == pytest.approx(0.8, abs=0.01)
    assert any(isinstance(m, C.Mask) for m in pruned.modules())
    assert weight_sparsity(model) == 0.0


def test_compression_sweep_covers_the_grid_with_sizes_in_order() -> None:
    model = _model()
    ids, labels = _batch()

    def evaluate(candidate: torch.nn.Module) -> tuple[float, float | None]:
        with torch.no_grad():
            return float(candidate.loss(ids, labels)), None

    config = CompressConfig(sparsities=(0.5, 0.9), iterative_sparsities=(0.5,), bits=(8, 2), qat_bits=(4,),
                            joint_sparsities=(0.5,), finetune_steps=4, prune_rounds=2)
    outcomes = compression_sweep(model, config, evaluate, lambda m, step: m.loss(ids, labels))
    found = {(o.method, o.setting): o for o in outcomes}
    assert set(found) == {("dense", "fp32"), ("dense-finetuned", "fp32"), ("prune-oneshot", "50%"),
                          ("prune-oneshot", "90%"), ("prune-iterative", "50%"), ("ptq", "8 bit"),
                          ("ptq", "2 bit"), ("qat", "4 bit"), ("prune+ptq", "50% + 8 bit"),
                          ("prune+ptq", "50% + 2 bit")}
    assert found["ptq", "2 bit"].size_bits < found["ptq", "8 bit"].size_bits < found["dense", "fp32"].size_bits
    assert found["prune-oneshot", "90%"].size_bits < found["prune-oneshot", "50%"].size_bits
    assert found["prune+ptq", "50% + 8 bit"].size_bits < found["ptq", "8 bit"].size_bits
    assert found["dense", "fp32"].loss == evaluate(model)[0]
    no_training = compression_sweep(model, config, evaluate)
    assert {o.method for o in no_training} == {"dense", "prune-oneshot", "ptq", "prune+ptq"}
