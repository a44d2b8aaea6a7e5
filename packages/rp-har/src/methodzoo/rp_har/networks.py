"""Classifiers: image backbones for the encodings and a raw 1-D CNN baseline on the series.

* ``efficientnet-lite0``: ImageNet-pretrained (offline weights through the core's registry,
  ``methodzoo.shared.pretrained.load_pretrained("efficientnet-lite0")``); stands in for the
  paper's pretrained ResNet, whose ImageNet weights are not available offline.
* ``resnet18``: torchvision's, random or from a user's state_dict (Lu & Tong's classifier).
* ``small-cnn``: three conv blocks for CPU-sized runs on 32–64 px images.
* ``raw1d``: the fully convolutional network of Wang et al. (2017) on the series themselves.

A pretrained stem made for RGB takes K ≠ 3 channels by averaging its filters over RGB and
repeating them with a 3/K scale (so the first activations keep their size). Every image network
normalises its [0, 1] input with the statistics its weights were trained with.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from methodzoo.rp_har.config import TrainConfig
from methodzoo.shared.errors import ConfigError, UserError, missing_extra

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _channel_stats(values: tuple[float, ...], channels: int) -> torch.Tensor:
    """Per-channel statistics for K channels: the RGB ones for K = 3, else their mean."""
    stats = list(values) if channels == 3 else [sum(values) / len(values)] * channels
    return torch.tensor(stats).view(1, channels, 1, 1)


class InputNormalization(nn.Module):
    """``(x − mean) / std`` per channel, the constants stored with the weights."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def adapt_input_channels(conv: nn.Conv2d, channels: int) -> None:
    """Make an RGB stem accept ``channels`` inputs: mean filter over RGB, repeated, × 3/K."""
    if conv.in_channels == channels:
        return
    with torch.no_grad():
        weight = conv.weight.mean(dim=1, keepdim=True).repeat(1, channels, 1, 1) * (conv.in_channels / channels)
    conv.weight = nn.Parameter(weight)
    conv.in_channels = channels


class SmallCNN(nn.Module):
    """Three blocks of (conv 3×3, BN, ReLU) ×2 + max-pool at widths w, 2w, 4w; global average
    pooling, dropout, linear."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for multiple in (1, 2, 4):
            out = width * multiple
            layers += [nn.Conv2d(channels, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                       nn.Conv2d(out, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(channels, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class RawCNN1d(nn.Module):
    """Wang et al.'s FCN on the series: conv 8/5/3 at widths 4w, 8w, 4w (128-256-128 for
    w = 32) with BN and ReLU, global average pooling, linear. The input is standardised per
    channel with the training set's statistics (stored as buffers)."""

    def __init__(self, in_channels: int, num_classes: int, width: int = 32, dropout: float = 0.2) -> None:
        super().__init__()
        sizes = (4 * width, 8 * width, 4 * width)
        layers: list[nn.Module] = []
        channels = in_channels
        for out, kernel in zip(sizes, (8, 5, 3), strict=True):
            # "same" padding, spelled out: an even kernel pads one more on the right.
            layers += [nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0),
                       nn.Conv1d(channels, out, kernel, bias=False), nn.BatchNorm1d(out), nn.ReLU(inplace=True)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Dropout(dropout),
                                  nn.Linear(channels, num_classes))
        self.register_buffer("input_mean", torch.zeros(1, in_channels, 1))
        self.register_buffer("input_std", torch.ones(1, in_channels, 1))

    def set_input_statistics(self, series: torch.Tensor) -> None:
        """Standardise inputs like ``series`` ``(N, C, T)``: per channel, over windows and time."""
        self.input_mean.copy_(series.mean(dim=(0, 2), keepdim=True))
        self.input_std.copy_(series.std(dim=(0, 2), keepdim=True).clamp_min(1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features((x - self.input_mean) / self.input_std))


def _resnet18(in_channels: int, num_classes: int, weights_path: str | None) -> nn.Module:
    try:
        from torchvision.models import resnet18
    except ImportError:
        raise missing_extra("torchvision", "methodzoo-rp-har", "vision") from None
    model = resnet18(weights=None)
    if weights_path is not None:
        model.load_state_dict(read_state_dict(weights_path))
    adapt_input_channels(model.conv1, in_channels)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return nn.Sequential(InputNormalization(_channel_stats(IMAGENET_MEAN, in_channels),
                                            _channel_stats(IMAGENET_STD, in_channels)), model)


def _efficientnet_lite0(in_channels: int, num_classes: int, pretrained: bool, dropout: float) -> nn.Module:
    if pretrained:
        from methodzoo.shared.pretrained import load_pretrained

        model = load_pretrained("efficientnet-lite0").model
    else:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            raise missing_extra("efficientnet_lite_pytorch", "methodzoo-rp-har", "pretrained") from None
        model = EfficientNet.from_name("efficientnet-lite0")
    adapt_input_channels(model._conv_stem, in_channels)
    model._fc = nn.Linear(model._fc.in_features, num_classes)
    model._dropout = nn.Dropout(dropout)
    # The statistics the ImageNet weights were trained with ((x − 127) / 128 in 0 … 255 units).
    from methodzoo.shared.pretrained import EFFICIENTNET_LITE0_PREPROCESSING as lite

    return nn.Sequential(InputNormalization(_channel_stats(lite.mean, in_channels),
                                            _channel_stats(lite.std, in_channels)), model)


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state_dict from ``.safetensors`` or a torch file read with ``weights_only=True`` (never
    unpickling code); a clear error when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"weights file {path} does not exist")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise UserError(f"cannot read weights from {path}: {error}") from None
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise UserError(f"{path} holds a {type(state).__name__}, not a state_dict")
    return state


def build_network(config: TrainConfig, in_channels: int, num_classes: int) -> nn.Module:
    """The classifier named by ``config.backbone`` for ``in_channels`` inputs (image channels,
    or series channels for ``raw1d``), with a fresh ``num_classes``-way head."""
    if in_channels < 1 or num_classes < 2:
        raise ConfigError(f"need at least 1 input channel and 2 classes, got {in_channels} and {num_classes}")
    if config.backbone == "small-cnn":
        return nn.Sequential(InputNormalization(torch.full((1, in_channels, 1, 1), 0.5),
                                                torch.full((1, in_channels, 1, 1), 0.5)),
                             SmallCNN(in_channels, num_classes, config.width, config.dropout))
    if config.backbone == "raw1d":
        return RawCNN1d(in_channels, num_classes, config.width, config.dropout)
    if config.backbone == "resnet18":
        return _resnet18(in_channels, num_classes, config.weights_path)
    if config.backbone == "efficientnet-lite0":
        return _efficientnet_lite0(in_channels, num_classes, config.pretrained, config.dropout)
    raise ConfigError(f"unknown backbone {config.backbone!r}")


__all__ = ["InputNormalization", "RawCNN1d", "SmallCNN", "adapt_input_channels", "build_network",
           "read_state_dict"]
