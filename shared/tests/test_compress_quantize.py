"""Fake quantization (≤ 2^b values per channel, zero kept, straight-through gradient, unbiased
stochastic rounding, calibration) and the real int8 path against torch's dynamic quantization."""

import copy
import itertools

import pytest
import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress import int8 as int8_module
from methodzoo.shared.compress.fakequant import scale_and_zero_point
from methodzoo.shared.errors import UserError
from methodzoo.shared.testing import TinyConvNet
from methodzoo.shared.train import load_weights, save_weights


@pytest.mark.parametrize(("bits", "per_channel", "symmetric"),
                         list(itertools.product([2, 3, 4, 8], [True, False], [True, False])))
def test_at_most_two_to_the_bits_values_per_channel_and_zero_kept(bits: int, per_channel: bool,
                                                                   symmetric: bool) -> None:
    model = nn.Sequential(nn.Linear(64, 8))
    C.prune_(model, C.MagnitudePruning(0.3))
    C.quantize_(model, C.FakeQuant(bits=bits, per_channel=per_channel, symmetric=symmetric))
    weight = model[0].weight.detach()
    groups = weight if per_channel else weight.reshape(1, -1)
    assert max(len(torch.unique(row)) for row in groups) <= 2**bits
    assert bool((weight[~C.masked_tensors(model)["0.weight"]] == 0).all())


def test_eight_bit_weights_have_high_sqnr() -> None:
    weight = torch.randn(32, 128, generator=torch.Generator().manual_seed(0))
    layer = nn.Linear(128, 32)
    with torch.no_grad():
        layer.weight.copy_(weight)
    C.quantize_(nn.Sequential(layer), C.FakeQuant(bits=8))
    noise = (layer.weight.detach() - weight).pow(2).mean()
    assert float(10 * torch.log10(weight.pow(2).mean() / noise)) > 35.0


def test_straight_through_gradient_inside_the_range() -> None:
    layer = nn.Linear(5, 3)
    C.quantize_(nn.Sequential(layer), C.FakeQuant(bits=3))
    layer(torch.ones(2, 5)).sum().backward()
    torch.testing.assert_close(layer.parametrizations.weight.original.grad, torch.full((3, 5), 2.0))


def test_stochastic_rounding_is_unbiased() -> None:
    generator = torch.Generator().manual_seed(0)
    draws = 100_000
    for value in (0.3, -1.7, 2.05):
        x = torch.full((draws,), value, dtype=torch.float64)
        rounded = C.stochastic_round(x, 0.5, generator)
        standard_error = rounded.std() / draws**0.5
        assert abs(float(rounded.mean()) - value) < 3 * float(standard_error)
        assert set(torch.unique(rounded).tolist()) <= {value // 0.5 * 0.5, value // 0.5 * 0.5 + 0.5}


def test_calibration_sets_activation_ranges_and_uncalibrated_eval_is_an_error() -> None:
    dense = TinyConvNet().eval()
    model = C.quantize_(copy.deepcopy(dense), C.FakeQuant(bits=8, activation_bits=8))
    x = torch.randn(16, 1, 12, 12, generator=torch.Generator().manual_seed(1))
    with pytest.raises(UserError, match="calibrate"):
        model(x)
    C.calibrate(model, [x[:8], x[8:]])
    assert float(model.conv1.input_quantizer.maximum) == pytest.approx(float(x.max()))
    assert float(model.conv1.input_quantizer.minimum) == pytest.approx(float(x.min()))
    with torch.no_grad():
        reference, quantized = dense(x), model(x)
    assert float((quantized - reference).abs().max() / reference.abs().max()) < 0.05


def test_asymmetric_range_contains_zero_on_an_integer() -> None:
    scale, zero = scale_and_zero_point(torch.tensor(0.5), torch.tensor(3.0), 4, symmetric=False)
    assert float(zero) == 0.0 and float(scale) == pytest.approx(3.0 / 15)
    scale, zero = scale_and_zero_point(torch.tensor(-1.0), torch.tensor(2.0), 8, symmetric=False)
    assert float(zero) == round(float(zero)) and float(-zero * scale) <= 0.0


@pytest.mark.skipif(not int8_module.int_mm_available(), reason="torch._int_mm is not available here")
def test_int8_linear_is_close_to_float_and_to_torch_dynamic_quantization() -> None:
    generator = torch.Generator().manual_seed(2)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 8)).eval()
    x = torch.randn(16, 64, generator=generator)
    reference = model(x).detach()
    ours = C.quantize_(copy.deepcopy(model), C.Int8Dynamic(engine="int_mm"))
    assert isinstance(ours[0], C.Int8Linear)
    error = (ours(x).detach() - reference).abs().max() / reference.abs().max()
    assert float(error) < 0.02
    if int8_module.torch_ao_available():
        peer = C.quantize_(copy.deepcopy(model), C.Int8Dynamic(engine="torch.ao"))
        peer_error = (peer(x).detach() - reference).abs().max() / reference.abs().max()
        assert float(error) < 2 * float(peer_error) + 0.005


@pytest.mark.skipif(not int8_module.int_mm_available(), reason="torch._int_mm is not available here")
def test_int8_model_survives_a_safetensors_round_trip_and_deepcopy(tmp_path) -> None:
    model = C.quantize_(nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)), C.Int8Dynamic())
    assert {v.dtype for v in model.state_dict().values()} == {torch.int8, torch.float32}
    save_weights(tmp_path / "int8.safetensors", model)
    fresh = C.quantize_(nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4)), C.Int8Dynamic())
    load_weights(tmp_path / "int8.safetensors", fresh)
    x = torch.randn(3, 16)
    torch.testing.assert_close(fresh(x), model(x))
    torch.testing.assert_close(copy.deepcopy(model)(x), model(x))


def test_missing_int8_backend_is_a_clear_error(monkeypatch) -> None:
    monkeypatch.setattr(int8_module, "int_mm_available", lambda device="cpu": False)
    monkeypatch.setattr(int8_module, "torch_ao_available", lambda: False)
    with pytest.raises(C.BackendUnavailableError, match="FakeQuant"):
        C.quantize_(nn.Sequential(nn.Linear(4, 4)), C.Int8Dynamic())


def test_fake_quant_validates_bits() -> None:
    with pytest.raises(UserError, match="bits"):
        C.FakeQuant(bits=1)
    with pytest.raises(UserError, match="quantize_ does not know"):
        C.quantize_(nn.Linear(2, 2), C.LowRank(rank=1))
