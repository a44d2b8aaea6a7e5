"""Tiny models for tests of compression and anything else that needs a real layer graph.

Each is small enough to run in milliseconds on a CPU and has the structures compression must
handle: convolution → BatchNorm → activation → pooling → flatten → linear, a residual block,
and a q/k/v/o attention module.
"""

from __future__ import annotations

import torch
from torch import nn


class TinyConvNet(nn.Module):
    """LeNet-shaped: two conv–BN–activation–pool stages, flatten, two linear layers; input ``(B, 1, 12, 12)``."""

    def __init__(self, width: int = 6, hidden: int = 16, classes: int = 5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, 2 * width, 3)
        self.bn2 = nn.BatchNorm2d(2 * width)
        self.fc1 = nn.Linear(2 * width * 2 * 2, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.max_pool2d(torch.sigmoid(self.bn1(self.conv1(x))), 2)  # (B, w, 6, 6)
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)  # (B, 2w, 2, 2)
        x = x.view(x.size(0), -1)
        return self.fc2(torch.relu(self.fc1(x)))


class ResidualBlock(nn.Module):
    """``x + conv2(relu(conv1(x)))``: conv2's filters feed an addition, so they cannot be removed
    alone; conv1's can."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(x)))


class QKVOAttention(nn.Module):
    """Self-attention written with separate q/k/v/o projections and a ``num_heads`` attribute,
    reshaping by ``num_heads`` and ``head_dim`` (the contract head pruning relies on)."""

    def __init__(self, embed_dim: int = 16, num_heads: int = 4) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.o_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        q = self.q_proj(x).view(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)  # (B, H, T, hd)
        k = self.k_proj(x).view(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(batch, tokens, self.num_heads, self.head_dim).transpose(1, 2)
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v)  # (B, H, T, hd)
        return self.o_proj(out.transpose(1, 2).reshape(batch, tokens, self.num_heads * self.head_dim))


@torch.no_grad()
def randomize_batchnorm_(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters (fresh ones are the
    identity, which hides mistakes in how a test treats them)."""
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            size = module.num_features
            assert module.running_mean is not None and module.running_var is not None
            module.running_mean.copy_(torch.randn(size, generator=generator))
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            module.weight.copy_(torch.randn(size, generator=generator))
            module.bias.copy_(torch.randn(size, generator=generator))
    return model
