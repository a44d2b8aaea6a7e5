"""LeNet-5 and the variants the compression benchmark compares (LeCun et al. 1998, with ReLU and
max pooling as in today's reference implementations).

``LeNet5(width=1.0)``: conv 5×5 (6 filters, padding 2) → pool → conv 5×5 (16) → pool → FC 120 →
FC 84 → FC 10 for 28×28 digits (61,706 parameters). ``width`` scales every hidden layer (0.5 is
the half-width student of the distillation experiment). ``separable=True`` replaces the second
convolution by a depthwise-separable one (MobileNet's filters, survey family 3);
``hashed=r`` makes the FC layers HashedNets layers with ``r`` times their weights as real parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from methodzoo.shared.compress.filters import DepthwiseSeparableConv2d
from methodzoo.shared.compress.hashing import HashedLinear


class LeNet5(nn.Module):
    """LeNet-5 for ``(B, 1, 28, 28)`` inputs; ``features`` are the second stage's maps ``(B, C, 5, 5)``."""

    def __init__(self, width: float = 1.0, classes: int = 10, separable: bool = False,
                 hashed: float | None = None) -> None:
        super().__init__()
        c1, c2 = max(1, round(6 * width)), max(1, round(16 * width))
        h1, h2 = max(1, round(120 * width)), max(1, round(84 * width))
        self.conv1 = nn.Conv2d(1, c1, 5, padding=2)
        self.conv2: nn.Module = DepthwiseSeparableConv2d(c1, c2, 5) if separable else nn.Conv2d(c1, c2, 5)
        self.fc1, self.fc2, self.fc3 = (_linear(a, b, hashed, seed) for seed, (a, b) in
                                        enumerate([(c2 * 5 * 5, h1), (h1, h2), (h2, classes)]))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)  # (B, c1, 14, 14)
        return torch.max_pool2d(torch.relu(self.conv2(x)), 2)  # (B, c2, 5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.features(x), 1)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def _linear(in_features: int, out_features: int, hashed: float | None, seed: int) -> nn.Module:
    if hashed is None:
        return nn.Linear(in_features, out_features)
    return HashedLinear(in_features, out_features, max(1, round(hashed * in_features * out_features)), seed=seed)
