"""Branch networks: small CNNs (2-D images, 1-D time series) and the paper's ResNet-18, each as a
:class:`~methodzoo.greedy_mm.network.Branch` of stages so MMTM can fuse after any of them."""

from __future__ import annotations

import torch
from torch import nn

from methodzoo.greedy_mm.config import ModelConfig
from methodzoo.greedy_mm.network import Branch, ClassifierHead, MultimodalNetwork
from methodzoo.shared.errors import ConfigError


def conv_branch(in_channels: int, num_classes: int, *, dims: int = 2, width: int = 16, stages: int = 3,
                kernel_size: int = 3) -> Branch:
    """``stages`` blocks conv–BatchNorm–ReLU with ``width·2^k`` channels, max-pooling by 2 after
    every block but the last, then global average pooling and a linear head."""
    if dims not in (1, 2, 3):
        raise ConfigError(f"conv branches are 1-, 2- or 3-D, got dims={dims}")
    conv, norm, pool = {1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d),
                        2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d),
                        3: (nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d)}[dims]
    blocks: list[nn.Module] = []
    channels = in_channels
    for k in range(stages):
        out = width * 2**k
        layers: list[nn.Module] = [conv(channels, out, kernel_size, padding=kernel_size // 2, bias=False),
                                   norm(out), nn.ReLU(inplace=True)]
        if k < stages - 1:
            layers.append(pool(2))
        blocks.append(nn.Sequential(*layers))
        channels = out
    return Branch(blocks, ClassifierHead(channels, num_classes))


class BasicBlock(nn.Module):
    """ResNet basic block: two 3×3 convolutions with BatchNorm and an identity (or 1×1) shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                                          nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def resnet18_branch(in_channels: int, num_classes: int) -> Branch:
    """ResNet-18 (He et al.) from scratch in 4 stages: stem + layer1 (64), layer2 (128),
    layer3 (256), layer4 (512); the head is global average pooling and a linear layer."""
    stem = [nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1)]
    stage0 = nn.Sequential(*stem, BasicBlock(64, 64), BasicBlock(64, 64))
    stages: list[nn.Module] = [stage0]
    channels = 64
    for out in (128, 256, 512):
        stages.append(nn.Sequential(BasicBlock(channels, out, 2), BasicBlock(out, out)))
        channels = out
    return Branch(stages, ClassifierHead(channels, num_classes))


CONV_DIMS = {"cnn1d": 1, "cnn2d": 2, "cnn3d": 3}


def resolve_architecture(config: ModelConfig, example: torch.Tensor) -> str:
    """``config.architecture``, with ``auto`` replaced by the CNN that fits ``example`` (a batch)."""
    if config.architecture != "auto":
        return config.architecture
    by_axes = {3: "cnn1d", 4: "cnn2d", 5: "cnn3d"}
    if example.ndim not in by_axes:
        raise ConfigError(f"no CNN fits batches of shape {tuple(example.shape)}: expected (B, C, T), "
                          "(B, C, H, W) or (B, C, T, H, W)")
    return by_axes[example.ndim]


def build_branch(config: ModelConfig, in_channels: int, num_classes: int, architecture: str | None = None) -> Branch:
    """One branch of the architecture ``config`` names (``architecture`` resolves ``auto``)."""
    name = architecture or config.architecture
    if name == "resnet18":
        return resnet18_branch(in_channels, num_classes)
    if name not in CONV_DIMS:
        raise ConfigError(f"architecture {name!r} needs example inputs to resolve; use cnn1d, cnn2d, cnn3d or resnet18")
    return conv_branch(in_channels, num_classes, dims=CONV_DIMS[name], width=config.width, stages=config.stages,
                       kernel_size=config.kernel_size)


def build_network(config: ModelConfig, example_inputs: tuple[torch.Tensor, torch.Tensor],
                  num_classes: int) -> MultimodalNetwork:
    """Two branches of ``config``'s architecture, sized for ``example_inputs`` (a batch of each
    modality), fused by MMTM after ``config.fusion_after``."""
    architecture = resolve_architecture(config, example_inputs[0])
    expected = CONV_DIMS.get(architecture, 2) + 2
    for modality, x in enumerate(example_inputs):
        if x.ndim != expected:
            raise ConfigError(f"{architecture} branches take {expected}-D batches; modality {modality} "
                              f"has shape {tuple(x.shape)}")
    if num_classes < 2:
        raise ConfigError(f"need at least 2 classes, got {num_classes}")
    branches = [build_branch(config, int(x.shape[1]), num_classes, architecture) for x in example_inputs]
    return MultimodalNetwork(branches[0], branches[1], config.fusion_after, example_inputs=example_inputs,
                             reduction_ratio=config.reduction_ratio, gate=config.gate)
