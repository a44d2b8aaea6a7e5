"""Compact convolutional filters (survey family 3), designed in and trained from scratch.

* :class:`DepthwiseSeparableConv2d` (MobileNet, Howard et al. 2017): a ``k×k`` depthwise
  convolution then a ``1×1`` pointwise one: ``k²·C_in + C_in·C_out`` weights instead of
  ``k²·C_in·C_out``.
* :class:`CReLU` (Shang et al. 2016): ``concat[ReLU(x), ReLU(−x)]`` doubles the channels, so a
  layer needs half the filters to produce the same width.
"""

from __future__ import annotations

import torch
from torch import nn


class DepthwiseSeparableConv2d(nn.Module):
    """``pointwise(depthwise(x))`` with the shape behaviour of ``nn.Conv2d(C_in, C_out, k, stride, padding)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, bias: bool = True) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride, padding, groups=in_channels,
                                   bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class CReLU(nn.Module):
    """``concat[ReLU(x), ReLU(−x)]`` along ``dim`` (channels by default)."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(x), torch.relu(-x)], self.dim)
