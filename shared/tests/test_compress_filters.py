"""Compact filters (survey family 3) and the group-sparsity regulariser: parameter counts against
the formulas, CReLU's doubling, and Σ_g ‖w_g‖₂ against a direct computation."""

import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress.lenet import LeNet5
from methodzoo.shared.modules import count_parameters
from methodzoo.shared.testing import TinyConvNet


def test_depthwise_separable_parameter_count_and_shape() -> None:
    c_in, c_out, k = 6, 16, 5
    layer = C.DepthwiseSeparableConv2d(c_in, c_out, k, padding=2, bias=False)
    assert count_parameters(layer) == k * k * c_in + c_in * c_out
    assert count_parameters(nn.Conv2d(c_in, c_out, k, bias=False)) == k * k * c_in * c_out
    assert layer(torch.randn(2, c_in, 9, 9)).shape == nn.Conv2d(c_in, c_out, k, padding=2)(torch.randn(2, c_in, 9, 9)).shape


def test_crelu_doubles_the_channels_with_both_signs() -> None:
    x = torch.randn(2, 3, 4, 4)
    y = C.CReLU()(x)
    assert y.shape == (2, 6, 4, 4)
    torch.testing.assert_close(y[:, :3] - y[:, 3:], x)


def test_lenet_sizes() -> None:
    assert count_parameters(LeNet5()) == 61_706
    assert LeNet5(width=0.5)(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert count_parameters(LeNet5(separable=True)) == 61_706 - (6 * 16 * 25) + (6 * 25 + 6 * 16)


def test_group_sparsity_penalty_sums_channel_norms_over_whole_groups() -> None:
    model = TinyConvNet()
    penalty = C.group_sparsity_penalty(model, "filter")
    expected = torch.zeros(())
    for producer, norm, consumer, block in (("conv1", "bn1", "conv2", 1), ("conv2", "bn2", "fc1", 4)):
        p, n, c = model.get_submodule(producer), model.get_submodule(norm), model.get_submodule(consumer)
        for channel in range(p.out_channels):
            squares = p.weight[channel].pow(2).sum() + p.bias[channel].pow(2) + n.weight[channel].pow(2) \
                + n.bias[channel].pow(2) + c.weight[:, channel * block:(channel + 1) * block].pow(2).sum()
            expected = expected + squares.sqrt()
    torch.testing.assert_close(penalty, expected)
    penalty.backward()
    assert model.conv1.weight.grad is not None


def test_hashed_linear_materialises_sign_times_shared_weight_and_sums_gradients() -> None:
    layer = C.HashedLinear(12, 7, buckets=10, seed=3)
    virtual = layer.virtual_weight()
    torch.testing.assert_close(virtual, layer.sign * layer.weight[layer.bucket_index])
    assert set(layer.sign.unique().tolist()) <= {-1.0, 1.0} and int(layer.bucket_index.max()) < 10
    assert count_parameters(layer) == 10 + 7 and set(layer.state_dict()) == {"weight", "bias"}
    x = torch.randn(5, 12)
    layer(x).pow(2).sum().backward()
    dense = virtual.detach().requires_grad_(True)
    nn.functional.linear(x, dense, layer.bias.detach()).pow(2).sum().backward()
    expected = torch.zeros(10).index_add_(0, layer.bucket_index.reshape(-1), (layer.sign * dense.grad).reshape(-1))
    torch.testing.assert_close(layer.weight.grad, expected)
    again = C.HashedLinear(12, 7, buckets=10, seed=3)
    assert torch.equal(again.bucket_index, layer.bucket_index)  # the hash is a function of the seed
