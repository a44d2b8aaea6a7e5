"""EMA and checkpoints after pruning (torch.nn.utils.prune, parametrize masks) and dynamic quantization."""

import json

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize, prune

from methodzoo.shared.errors import UserError
from methodzoo.shared.train import EMA, Trainer, TrainerOptions, load_checkpoint, save_checkpoint

# torch.ao.quantization is deprecated in favour of torchao, and creating quantized tensors warns;
# both are what this file tests.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")


class Mask(nn.Module):
    """A parametrization multiplying the weight by a fixed 0/1 mask (held as a buffer)."""

    def __init__(self, mask: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight * self.mask


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(4, 3)


def _shift_weights(model: nn.Module, by: float) -> None:
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(by)


def test_ema_follows_a_layer_pruned_after_it_was_made():
    model = _linear()
    w0 = model.weight.detach().clone()
    ema = EMA(model, decay=0.5)
    _shift_weights(model, 1.0)
    ema.update(model)  # shadow = (w0 + w1) / 2
    prune.l1_unstructured(model, "weight", amount=0.5)  # weight → weight_orig + weight_mask
    ema.update(model)  # the average carries over to weight_orig: ((w0 + w1)/2 + w1) / 2
    w1 = model.weight_orig.detach()
    shadow = dict(ema.model.named_parameters())
    assert set(shadow) == {"weight_orig", "bias"}
    torch.testing.assert_close(shadow["weight_orig"], 0.25 * w0 + 0.75 * w1)
    assert torch.equal(dict(ema.model.named_buffers())["weight_mask"], model.weight_mask)
    x = torch.randn(5, 4)
    expected = nn.functional.linear(x, shadow["weight_orig"] * model.weight_mask, shadow["bias"])
    torch.testing.assert_close(ema.model(x), expected)  # the averaged weight, seen through the mask
    with ema.swapped_into(model):
        torch.testing.assert_close(model(x), expected)
    torch.testing.assert_close(model.weight_orig, w1)  # restored afterwards


def test_ema_follows_a_parametrize_mask_and_restarts_only_new_tensors():
    model = _linear()
    w0 = model.weight.detach().clone()
    ema = EMA(model, decay=0.5)
    _shift_weights(model, 2.0)
    ema.update(model)
    mask = (torch.arange(12).reshape(3, 4) % 3 == 0).float()
    parametrize.register_parametrization(model, "weight", Mask(mask))
    ema.update(model)
    shadow = dict(ema.model.named_parameters())
    assert "parametrizations.weight.original" in shadow
    w1 = model.parametrizations.weight.original.detach()
    torch.testing.assert_close(shadow["parametrizations.weight.original"], 0.25 * w0 + 0.75 * w1)
    torch.testing.assert_close(ema.model.weight, shadow["parametrizations.weight.original"] * mask)
    state = ema.state_dict()
    fresh = _linear(seed=1)
    parametrize.register_parametrization(fresh, "weight", Mask(torch.ones(3, 4)))
    restored = EMA(fresh, decay=0.5)
    restored.load_state_dict(state)
    torch.testing.assert_close(restored.model.weight, ema.model.weight)
    with pytest.raises(UserError, match="do not fit"):
        EMA(_linear(), decay=0.5).load_state_dict(state)


def test_ema_of_a_pruned_model_and_a_trainer_with_it():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    x, y = torch.randn(16, 4), torch.randn(16, 1)
    model(x)  # the pruning hook makes `weight` a non-leaf tensor, which deepcopy refuses
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.1),
                      options=TrainerOptions(ema_decay=0.9, progress=False))
    trainer.fit(lambda step: nn.functional.mse_loss(model(x), y), 3)
    assert trainer.ema is not None
    averaged = trainer.ema.model[0]
    averaged(x[:1])  # the pruning hook recomputes the masked weight from the averaged weight_orig
    masked = model[0].weight_mask == 0
    assert (averaged.weight[masked] == 0).all() and (averaged.weight_orig[masked] != 0).all()
    torch.testing.assert_close(averaged.weight, averaged.weight_orig * model[0].weight_mask)


def _recurrent_classifier() -> nn.Module:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(4, 6)
            self.gru = nn.GRU(6, 5)
            self.head = nn.Linear(5, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.gru(self.lstm(x)[0])[0])

    return Net()


@pytest.mark.parametrize("dtype, per_channel", [(torch.qint8, False), (torch.qint8, True), (torch.float16, False)])
def test_dynamically_quantized_model_round_trips_through_a_checkpoint(tmp_path, dtype, per_channel):
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    layers: set | dict = ({nn.Linear: per_channel_dynamic_qconfig, nn.LSTM: per_channel_dynamic_qconfig}
                          if per_channel else {nn.Linear, nn.LSTM, nn.GRU})
    torch.manual_seed(0)
    quantized = quantize_dynamic(_recurrent_classifier(), layers, dtype=dtype)
    path = save_checkpoint(tmp_path, 1, {"model": quantized.state_dict()})
    torch.manual_seed(1)
    fresh = quantize_dynamic(_recurrent_classifier(), layers, dtype=dtype)
    x = torch.randn(7, 2, 4)
    assert not torch.equal(fresh(x), quantized(x))
    fresh.load_state_dict(load_checkpoint(tmp_path).state["model"])
    assert torch.equal(fresh(x), quantized(x))
    skeleton = json.loads(path.read_text())["state"]["model"]
    if dtype == torch.qint8:
        head = skeleton["head._packed_params._packed_params"]["__tuple__"][0]
        assert head["__quantized__"] and head["scheme"] == ("per_channel" if per_channel else "per_tensor")
    assert skeleton["head._packed_params.dtype"] == {"__dtype__": str(dtype).removeprefix("torch.")}


def test_quantized_tensors_keep_values_scales_zero_points_and_axis(tmp_path):
    values = torch.randn(4, 5)
    per_tensor = torch.quantize_per_tensor(values, scale=0.05, zero_point=3, dtype=torch.quint8)
    scales, zero_points = torch.rand(5, dtype=torch.float64) / 10 + 0.01, torch.arange(5) - 2
    per_channel = torch.quantize_per_channel(values, scales, zero_points, axis=1, dtype=torch.qint8)
    save_checkpoint(tmp_path, 0, {"a": per_tensor, "b": per_channel, "dtypes": [torch.qint8, torch.float16]})
    state = load_checkpoint(tmp_path).state
    a, b = state["a"], state["b"]
    assert a.dtype == torch.quint8 and a.q_scale() == 0.05 and a.q_zero_point() == 3
    assert torch.equal(a.int_repr(), per_tensor.int_repr())
    assert b.dtype == torch.qint8 and b.q_per_channel_axis() == 1
    assert torch.equal(b.q_per_channel_scales(), scales) and torch.equal(b.q_per_channel_zero_points(), zero_points)
    assert torch.equal(b.dequantize(), per_channel.dequantize())
    assert state["dtypes"] == [torch.qint8, torch.float16]
