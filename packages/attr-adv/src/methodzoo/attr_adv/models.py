"""Classifiers with the penultimate features z exposed, as AGAT's inner objective needs them.

A model for this package is any ``nn.Module`` returning logits; when it also has
``features(x) → z`` and ``classify(z) → logits`` the "agat" objective uses z, otherwise it falls
back to the logits as features (:func:`features_and_logits`).
"""

from __future__ import annotations

import torch
from torch import nn

from methodzoo.shared.errors import UserError


class SmallCNN(nn.Module):
    """Two conv–ReLU–max-pool blocks and a hidden layer: the digits classifier of our benchmarks.

    ``(N, C, 28, 28)`` → z ``(N, hidden)`` → logits ``(N, classes)``; any input size divisible by 4.
    """

    def __init__(self, num_classes: int = 10, channels: int = 1, width: int = 16, hidden: int = 64,
                 image_size: int = 28) -> None:
        super().__init__()
        if image_size % 4:
            raise UserError(f"SmallCNN needs an image size divisible by 4, got {image_size}")
        self.body = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),  # (N, 2w · H/4 · W/4)
            nn.Linear(2 * width * (image_size // 4) ** 2, hidden), nn.ReLU(),
        )
        self.head = nn.Linear(hidden, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def classify(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


class _PreActBlock(nn.Module):
    """TTT's CIFAR basic block: norm–ReLU–conv twice, identity or 1×1-conv shortcut."""

    def __init__(self, inputs: int, outputs: int, stride: int, groups: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, inputs)
        self.conv1 = nn.Conv2d(inputs, outputs, 3, stride, 1, bias=False)
        self.norm2 = nn.GroupNorm(groups, outputs)
        self.conv2 = nn.Conv2d(outputs, outputs, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(inputs, outputs, 1, stride, bias=False)
                         if stride != 1 or inputs != outputs else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.norm1(x))
        residual = self.shortcut(out) if not isinstance(self.shortcut, nn.Identity) else x
        out = self.conv1(out)
        out = self.conv2(torch.relu(self.norm2(out)))
        return out + residual


class ResNetCifar(nn.Module):
    """The CIFAR ResNet of TTT / AGAT's released code: depth 6k + 2, width w, GroupNorm(8).

    ``ResNetCifar(depth=26, width=1)`` is the paper's ResNet-26 (without the rotation
    self-supervision head TTT adds, which AGAT does not train).
    """

    def __init__(self, depth: int = 26, width: int = 1, num_classes: int = 10, channels: int = 3,
                 groups: int = 8) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise UserError(f"ResNetCifar depth must be 6k + 2 (26, 20, 32…), got {depth}")
        blocks = (depth - 2) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.stem = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        layers: list[nn.Module] = []
        inputs = 16
        for stage, outputs in enumerate(widths):
            for index in range(blocks):
                stride = 2 if stage > 0 and index == 0 else 1
                layers.append(_PreActBlock(inputs, outputs, stride, groups))
                inputs = outputs
        self.blocks = nn.Sequential(*layers)
        self.norm = nn.GroupNorm(groups, inputs)
        self.head = nn.Linear(inputs, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.blocks(self.stem(x))
        return torch.relu(self.norm(out)).mean(dim=(2, 3))  # (N, 64w)

    def classify(self, z: torch.Tensor) -> torch.Tensor:
        return self.head(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))


def features_and_logits(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, logits): the penultimate features where the model exposes them, else the logits twice."""
    features, classify = getattr(model, "features", None), getattr(model, "classify", None)
    if callable(features) and callable(classify):
        z = features(x)
        return z, classify(z)
    logits = model(x)
    return logits, logits


def build_classifier(name: str, num_classes: int, channels: int, image_size: int,
                     width: int | None = None) -> nn.Module:
    """``small-cnn`` (digits; ``width`` base channels, default 16) or ``resnet26`` (CIFAR;
    ``width`` the ResNet's multiplier, default 1 as in the paper)."""
    if name == "small-cnn":
        return SmallCNN(num_classes, channels, width or 16, image_size=image_size)
    if name == "resnet26":
        return ResNetCifar(26, width or 1, num_classes, channels)
    raise UserError(f"unknown model {name!r}; valid: small-cnn, resnet26")


__all__ = ["ResNetCifar", "SmallCNN", "build_classifier", "features_and_logits"]
