"""ICT's μ and σ entropy-parameter transforms of a slice, run as one batched computation.

Coding runs, for every slice, a Swin stack for μ and another for σ: the same architecture with
their own weights, on inputs of the same shape. :class:`PairedSliceTransform` stacks the two
weight sets and computes both in one pass: linear layers as one batched matmul, the attention of
both in one fused kernel, the output convolutions as one grouped convolution. The arithmetic is
the method's; only the number of calls halves (what pays on a GPU, where these small kernels
are bound by launch overhead; on a CPU ``benchmarks/ict-codec/slice_overhead.py`` measures it).

With ``ICT.batch_slice_transforms`` set it replaces the separate stacks whenever autograd is off
(compress, decompress, reconstruct); training keeps the separate modules. It is off by default:
on the CPU measured here the batched matmuls were slower than the separate ones, and decoding
was no faster (``results/slice_overhead.json``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.ict_codec.layers import SwinBlock, shifted_window_attention

if TYPE_CHECKING:
    from methodzoo.ict_codec.model import SwinSliceTransform


def _stacked_linear(a: nn.Linear, b: nn.Linear) -> tuple[torch.Tensor, torch.Tensor]:
    """(weights (2, in, out), biases (2, 1, out)) for ``x @ W + b`` per pair."""
    weight = torch.stack([a.weight.detach(), b.weight.detach()]).transpose(1, 2)  # nn.Linear's layout
    bias = torch.stack([a.bias.detach(), b.bias.detach()])[:, None, :]
    return weight, bias


def _stacked_norm(a: nn.LayerNorm, b: nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor, float]:
    return (torch.stack([a.weight.detach(), b.weight.detach()])[:, None, :],
            torch.stack([a.bias.detach(), b.bias.detach()])[:, None, :], a.eps)


class _PairedBlock:
    """Two :class:`SwinBlock` of the same shape, applied to a pair of inputs at once."""

    def __init__(self, a: SwinBlock, b: SwinBlock) -> None:
        self.window, self.shift = a.window, a.shift
        self.attentions = (a.attn, b.attn)
        self.heads = a.attn.num_heads
        self.biases: dict[tuple[int | None, int, torch.dtype], tuple[torch.Tensor | None, torch.Tensor]] = {}
        self.norm1, self.norm2 = _stacked_norm(a.norm1, b.norm1), _stacked_norm(a.norm2, b.norm2)
        self.qkv, self.proj = _stacked_linear(a.attn.qkv, b.attn.qkv), _stacked_linear(a.attn.proj, b.attn.proj)
        fc1 = (cast(nn.Linear, a.mlp[0]), cast(nn.Linear, b.mlp[0]))
        fc2 = (cast(nn.Linear, a.mlp[2]), cast(nn.Linear, b.mlp[2]))
        self.fc1, self.fc2 = _stacked_linear(*fc1), _stacked_linear(*fc2)

    @staticmethod
    def _linear(x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Per-pair ``x @ W + b`` for x of shape (2, N, in)."""
        return torch.bmm(x, params[0]).add_(params[1])  # baddbmm would first copy the broadcast bias

    @staticmethod
    def _norm(x: torch.Tensor, params: tuple[torch.Tensor, torch.Tensor, float]) -> torch.Tensor:
        weight, bias, eps = params
        return torch.addcmul(bias, F.layer_norm(x, x.shape[-1:], eps=eps), weight)

    def _bias(self, mask: torch.Tensor | None, windows: int, dtype: torch.dtype) -> torch.Tensor:
        """Both halves' attention bias, one per window: (2·B·nW, h, w², w²); kept per mask and batch."""
        key = (None if mask is None else id(mask), windows, dtype)
        if key not in self.biases:
            # (2, nW or 1, h, w², w²): each WindowAttention's own (cached) bias, repeated over the batch
            biases = torch.stack([attention.attention_bias(mask, dtype) for attention in self.attentions])
            per_image = biases.shape[1]
            bias = biases[:, None].expand(2, windows // 2 // per_image, *biases.shape[1:])
            if len(self.biases) >= 16:  # a few image sizes at a time
                self.biases.clear()
            self.biases[key] = (mask, bias.reshape(windows, *biases.shape[2:]))  # the mask keeps its id unique
        return self.biases[key][1]

    def _attention(self, windows: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """windows (2·B·nW, w², C): the pair's halves are the first and second B·nW windows."""
        bw2, n, c = windows.shape
        heads = self.heads
        qkv = self._linear(windows.view(2, -1, c), self.qkv)
        qkv = qkv.view(bw2, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)  # (3, 2·B·nW, h, w², d)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=self._bias(mask, bw2, qkv.dtype))
        return self._linear(out.transpose(1, 2).reshape(2, -1, c), self.proj).view(bw2, n, c)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """x (2·B, H, W, C), the pair's halves stacked along the batch."""
        b2, h, w, c = x.shape
        y = self._norm(x.view(2, -1, c), self.norm1).view(b2, h, w, c)
        x = x + shifted_window_attention(y, self.window, self.shift, self._attention)
        hidden = F.gelu(self._linear(self._norm(x.reshape(2, -1, c), self.norm2), self.fc1))
        return x + self._linear(hidden, self.fc2).view(b2, h, w, c)


class PairedSliceTransform:
    """The μ and σ :class:`~methodzoo.ict_codec.model.SwinSliceTransform` of one slice, batched.

    Built from the two modules' current weights (a snapshot: rebuild after they change); for
    inference only.
    """

    def __init__(self, mean: SwinSliceTransform, scale: SwinSliceTransform) -> None:
        self.blocks = [_PairedBlock(cast(SwinBlock, a), cast(SwinBlock, b))
                       for a, b in zip(mean.stage.blocks, scale.stage.blocks, strict=True)]
        self.out_weight = torch.cat([mean.out.weight.detach(), scale.out.weight.detach()])
        self.out_bias = torch.cat([cast(torch.Tensor, t.out.bias).detach() for t in (mean, scale)])  # has a bias
        self.out_channels = mean.out.out_channels

    @torch.no_grad()
    def __call__(self, support_mu: torch.Tensor, support_sigma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ transform(support_mu), σ transform(support_sigma)) for supports of shape (B, C, h, w)."""
        b = support_mu.shape[0]
        x = torch.cat([support_mu, support_sigma]).permute(0, 2, 3, 1).contiguous()  # (2B, h, w, C)
        for block in self.blocks:
            x = block(x)
        # Both halves side by side on channels: one grouped 3×3 convolution gives both outputs.
        x = torch.cat([x[:b], x[b:]], dim=-1).permute(0, 3, 1, 2).contiguous()  # (B, 2C, h, w)
        out = F.conv2d(x, self.out_weight, self.out_bias, padding=1, groups=2)
        return out[:, : self.out_channels], out[:, self.out_channels :]


__all__ = ["PairedSliceTransform"]
