"""Binarization: XNOR's scale minimises ‖W − sB‖² (checked by grid search), ±s weights, and the
straight-through gradient clipped to |W| ≤ 1."""

import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.compress.binary import binary_sign, xnor_scale


def test_xnor_scale_minimises_the_reconstruction_error_on_a_grid() -> None:
    weight = torch.randn(4, 30, generator=torch.Generator().manual_seed(0))
    sign = binary_sign(weight)
    scale = xnor_scale(weight)[:, 0]
    grid = torch.linspace(0.0, 3.0, 3001)
    errors = (weight[:, None, :] - grid[None, :, None] * sign[:, None, :]).pow(2).sum(-1)  # (rows, grid)
    best = grid[errors.argmin(1)]
    torch.testing.assert_close(scale, best, atol=1e-3, rtol=0)


def test_binarized_layer_uses_plus_minus_scale_per_channel() -> None:
    layer = nn.Linear(10, 3)
    C.quantize_(nn.Sequential(layer), C.Binarize())
    weight = layer.weight.detach()
    original = layer.parametrizations.weight.original.detach()
    expected = original.abs().mean(1, keepdim=True) * torch.where(original >= 0, 1.0, -1.0)
    torch.testing.assert_close(weight, expected)
    assert all(len(torch.unique(row.abs())) == 1 for row in weight)


def test_straight_through_gradient_is_zero_outside_the_unit_interval() -> None:
    layer = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -2.0, 0.1, 1.5]]))
    C.quantize_(nn.Sequential(layer), C.Binarize(scaling="none"))
    layer(torch.ones(1, 4)).sum().backward()
    torch.testing.assert_close(layer.parametrizations.weight.original.grad, torch.tensor([[1.0, 0.0, 1.0, 0.0]]))
