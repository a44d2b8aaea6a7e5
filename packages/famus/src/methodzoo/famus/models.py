"""Networks: the meta-net Ψ of Meta-Weight-Net and small classifiers for the CPU benchmark.

The methods work with any ``nn.Module`` classifier (they call it through
``torch.func.functional_call``); these are only the defaults.
"""

from __future__ import annotations

import torch
from torch import nn

from methodzoo.shared.errors import ConfigError


class MetaWeightNetwork(nn.Module):
    """Ψ(L; θ): a per-sample loss ``(n,)`` to a weight V ∈ (0, 1) ``(n,)`` (MW-Net's 1-100-1 VNet)."""

    def __init__(self, hidden: int = 100) -> None:
        super().__init__()
        self.hidden = nn.Linear(1, hidden)
        self.output = nn.Linear(hidden, 1)

    def forward(self, losses: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.hidden(losses.unsqueeze(1)))  # (n, hidden)
        return torch.sigmoid(self.output(h)).squeeze(1)  # (n,)


class DeepCNN(nn.Module):
    """A plain conv-BN-ReLU stack: ``depth`` 3×3 convolutions in three stages, then one linear.

    Stages halve the resolution and double the width; the first convolution of each stage
    has stride 2. ``depth`` convolutions + 1 linear = ``depth + 1`` weight layers.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, width: int = 16, depth: int = 10) -> None:
        super().__init__()
        if depth < 3:
            raise ConfigError(f"DeepCNN needs depth >= 3 (one convolution per stage), got {depth}")
        per_stage = [depth // 3 + (1 if i < depth % 3 else 0) for i in range(3)]
        layers: list[nn.Module] = []
        channels = in_channels
        for stage, count in enumerate(per_stage):
            out_channels = width * 2**stage
            for i in range(count):
                stride = 2 if i == 0 else 1
                layers += [nn.Conv2d(channels, out_channels, 3, stride=stride, padding=1, bias=False),
                           nn.BatchNorm2d(out_channels), nn.ReLU(inplace=False)]
                channels = out_channels
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)  # (B, 4w, H/8, W/8)
        return self.classifier(h.mean(dim=(2, 3)))  # (B, classes)


class MLP(nn.Module):
    """A ReLU MLP on flattened images (``depth`` hidden layers + 1 output layer)."""

    def __init__(self, in_features: int, num_classes: int = 10, width: int = 128, depth: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        features = in_features
        for _ in range(depth):
            layers += [nn.Linear(features, width), nn.ReLU()]
            features = width
        layers.append(nn.Linear(features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))  # (B, classes)


class _BasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(h)) + self.shortcut(x))


class ResNet32(nn.Module):
    """The CIFAR ResNet-32 of MW-Net's experiments (3 stages × 5 basic blocks, widths 16/32/64)."""

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 16, blocks: int = 5) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                                  nn.ReLU())
        stages: list[nn.Module] = []
        channels = width
        for stage in range(3):
            out_channels = width * 2**stage
            for i in range(blocks):
                stages.append(_BasicBlock(channels, out_channels, 2 if (i == 0 and stage > 0) else 1))
                channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stages(self.stem(x))  # (B, 4w, H/4, W/4)
        return self.classifier(h.mean(dim=(2, 3)))  # (B, classes)


def build_classifier(kind: str, num_classes: int, in_channels: int, image_size: int, width: int,
                     depth: int) -> nn.Module:
    """``cnn`` (:class:`DeepCNN`), ``mlp`` (:class:`MLP`) or ``resnet32`` (:class:`ResNet32`)."""
    if kind == "cnn":
        return DeepCNN(num_classes, in_channels, width, depth)
    if kind == "mlp":
        return MLP(in_channels * image_size * image_size, num_classes, width, depth)
    if kind == "resnet32":
        return ResNet32(num_classes, in_channels, width)
    raise ConfigError(f"unknown model {kind!r}; valid models: cnn, mlp, resnet32")
