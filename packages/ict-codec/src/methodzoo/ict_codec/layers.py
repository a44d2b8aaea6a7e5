"""Building blocks: Swin Transformer stages with (shifted) window attention, patch merging and
splitting, GDN, ConvNeXt blocks, AICT's ResizeParamNet and the bicubic scaling warp.

Everything here is written for this package (no CompressAI or timm at run time). Swin blocks take
channels-last tensors ``(B, H, W, C)``; feature maps whose sides are not multiples of the window
are padded inside the block and the padded tokens are masked out as attention keys, so the output
at real positions does not depend on the padding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import nn

_MASKED = -1e4  # additive attention bias for forbidden keys (finite, so empty rows stay NaN-free)


def _relative_position_index(window: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
    relative = coords[:, :, None] - coords[:, None, :]  # (2, w², w²)
    relative = relative.permute(1, 2, 0) + (window - 1)
    return relative[..., 0] * (2 * window - 1) + relative[..., 1]  # (w², w²)


@lru_cache(maxsize=64)
def _window_masks(height: int, width: int, padded_h: int, padded_w: int, window: int,
                  shift: int) -> torch.Tensor:
    """Additive mask ``(nW, w², w²)``: keys in another shifted region or in the padding are banned."""
    region = torch.zeros(padded_h, padded_w)
    if shift:
        label = 0
        for hs in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
            for ws in (slice(0, -window), slice(-window, -shift), slice(-shift, None)):
                region[hs, ws] = label
                label += 1
    valid = torch.zeros(padded_h, padded_w)
    valid[:height, :width] = 1.0
    if shift:
        valid = torch.roll(valid, shifts=(-shift, -shift), dims=(0, 1))
    region_w = _partition(region[None, :, :, None], window).squeeze(-1)  # (nW, w²)
    valid_w = _partition(valid[None, :, :, None], window).squeeze(-1)  # (nW, w²)
    mask = (region_w[:, :, None] != region_w[:, None, :]).float() * _MASKED
    mask = mask + (1.0 - valid_w[:, None, :]) * _MASKED
    return mask


def _partition(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B·nW, w², C)."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window * window, c)


def _merge(windows: torch.Tensor, window: int, b: int, h: int, w: int) -> torch.Tensor:
    """(B·nW, w², C) -> (B, H, W, C)."""
    c = windows.shape[-1]
    x = windows.view(b, h // window, w // window, window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside non-overlapping windows with a learned relative position bias."""

    def __init__(self, dim: int, window: int, num_heads: int) -> None:
        super().__init__()
        self.dim, self.window, self.num_heads = dim, window, num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.relative_bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, num_heads))
        nn.init.trunc_normal_(self.relative_bias, std=0.02)
        self.register_buffer("relative_index", _relative_position_index(window), persistent=False)

    def attention_bias(self, mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
        """Relative position bias plus the window mask: ``(nW, heads, w², w²)`` (nW = 1 without a mask).

        Without autograd (coding) the result is cached per mask until the bias table changes: the
        decoder runs every block once per slice and image, and rebuilding it each time is waste.
        """
        if torch.is_grad_enabled():
            return self._attention_bias(mask, dtype)
        table = self.relative_bias.detach()
        cache = self.__dict__.setdefault("_bias_cache", {})
        # The table is compared by value (a few hundred numbers): version counters miss some
        # in-place updates (fused optimizer kernels, ``.data`` edits), a stale bias would not.
        if "table" not in cache or cache["table"].device != table.device or not torch.equal(cache["table"], table):
            cache.clear()
            cache["table"] = table.clone()
        key = (None if mask is None else id(mask), dtype)
        if key not in cache:
            if len(cache) >= 16:  # a few image sizes at a time
                cache.clear()
                cache["table"] = table.clone()
            cache[key] = (mask, self._attention_bias(mask, dtype))  # the mask is kept so its id stays unique
        return cache[key][1]

    def _attention_bias(self, mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor:
        n, heads = self.window * self.window, self.num_heads
        bias = self.relative_bias[self.relative_index.view(-1)].view(n, n, heads).permute(2, 0, 1)  # (h, w², w²)
        bias = bias[None] if mask is None else bias[None] + mask[:, None]
        return bias.to(dtype)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        bw, n, c = x.shape  # (B·nW, w², C)
        heads = self.num_heads
        qkv = self.qkv(x).view(bw, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)  # (3, B·nW, h, w², d)
        q, k, v = qkv[0], qkv[1], qkv[2]
        bias = self.attention_bias(mask, q.dtype)
        nw = bias.shape[0]
        if torch.is_grad_enabled():
            # Training: plain attention, the bias broadcast over the batch without a copy.
            scores = (q * (c // heads) ** -0.5) @ k.transpose(-2, -1)  # (B·nW, h, w², w²)
            scores = (scores.view(bw // nw, nw, heads, n, n) + bias).view(bw, heads, n, n)
            out = torch.softmax(scores, dim=-1) @ v  # (B·nW, h, w², d)
        else:
            # Coding (compress, decompress and reconstruct all run without autograd): the fused
            # kernel, about 1.5x faster for the small preset's g_s at 512². SDPA picks its CPU
            # kernel by autograd mode, so the encoder and decoder agree bit for bit only because
            # both take this branch.
            if nw > 1 and bw != nw:  # per-window masks, several images; one bias broadcasts as is
                bias = bias.repeat(bw // nw, 1, 1, 1)
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    """One Swin Transformer block (Liu et al. 2021): (shifted) window attention then an MLP."""

    def __init__(self, dim: int, num_heads: int, window: int, shift: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.window, self.shift = window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + shifted_window_attention(self.norm1(x), self.window, self.shift, self.attn)
        return x + self.mlp(self.norm2(x))


def shifted_window_attention(y: torch.Tensor, window: int, shift: int,
                             attend: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]) -> torch.Tensor:
    """A Swin block's attention step on y (B, H, W, C): pad to whole windows, shift, ``attend(windows,
    mask)`` on (B·nW, w², C), shift back, crop. The shift is dropped when the map fits in one window."""
    b, h, w, _c = y.shape
    shift = shift if min(h, w) > window else 0  # Swin's rule
    pad_h, pad_w = (-h) % window, (-w) % window
    if pad_h or pad_w:
        y = F.pad(y, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    if shift:
        y = torch.roll(y, shifts=(-shift, -shift), dims=(1, 2))
    need_mask = shift or pad_h or pad_w
    mask = _window_masks(h, w, hp, wp, window, shift).to(y.device) if need_mask else None
    y = _merge(attend(_partition(y, window), mask), window, b, hp, wp)  # windows: (B·nW, w², C)
    if shift:
        y = torch.roll(y, shifts=(shift, shift), dims=(1, 2))
    return y[:, :h, :w, :]


class SwinStage(nn.Module):
    """``depth`` Swin blocks of one width, alternating plain and shifted windows."""

    def __init__(self, dim: int, depth: int, head_dim: int, window: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        heads = max(1, dim // head_dim)
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, window, 0 if i % 2 == 0 else window // 2, mlp_ratio) for i in range(depth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


class PatchMerging(nn.Module):
    """Halve the resolution: concatenate each 2×2 neighbourhood, normalise, project to ``out_dim``."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, out_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape  # (B, H, W, C) with even H, W
        x = x.view(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 4, 2, 5).reshape(b, h // 2, w // 2, 4 * c)
        return self.reduction(self.norm(x))


class PatchSplit(nn.Module):
    """Double the resolution: project each token to 4 tokens of ``out_dim`` (depth-to-space)."""

    def __init__(self, dim: int, out_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.expand = nn.Linear(dim, 4 * out_dim)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        x = self.expand(self.norm(x)).view(b, h, w, 2, 2, self.out_dim)  # (B, H, W, 2, 2, C')
        return x.permute(0, 1, 3, 2, 4, 5).reshape(b, 2 * h, 2 * w, self.out_dim)


class GDN(nn.Module):
    """Generalised divisive normalisation (Ballé et al. 2016); ``inverse=True`` gives IGDN.

    ``y_i = x_i / sqrt(β_i + Σ_j γ_ij x_j²)`` with β, γ kept non-negative by squaring a parameter.
    """

    def __init__(self, channels: int, inverse: bool = False) -> None:
        super().__init__()
        self.inverse = inverse
        self.beta = nn.Parameter(torch.ones(channels))
        self.gamma = nn.Parameter(torch.eye(channels) * math.sqrt(0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        beta = self.beta.pow(2) + 1e-6
        gamma = self.gamma.pow(2)[:, :, None, None]
        norm = torch.sqrt(F.conv2d(x * x, gamma, beta))
        return x * norm if self.inverse else x / norm


class ConvNeXtBlock(nn.Module):
    """ConvNeXt block (Liu et al. 2022): depthwise 7×7, LayerNorm, 4× MLP with GELU, layer scale."""

    def __init__(self, channels: int, layer_scale_init: float = 1e-6) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = nn.LayerNorm(channels)
        self.pw1 = nn.Linear(channels, 4 * channels)
        self.pw2 = nn.Linear(4 * channels, channels)
        self.gamma = nn.Parameter(torch.full((channels,), float(layer_scale_init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # (B, H, W, C)
        y = self.pw2(F.gelu(self.pw1(self.norm(y)))) * self.gamma
        return x + y.permute(0, 3, 1, 2).contiguous()


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                                  nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x))


class ResizeParamNet(nn.Module):
    """AICT's scaling module: residual blocks with max-pooling, a global mean and a linear head give
    one scaling factor per image, before the paper's ReLU (:meth:`AICT.scaling_factor` bounds it).
    The head starts at ``f = 1`` (weight 0, bias 1)."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in channels:
            layers += [ResidualBlock(cin, cout), nn.MaxPool2d(2)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.ones_(self.head.bias)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        features = self.features(x01).mean(dim=(2, 3))  # (B, C)
        return self.head(features).squeeze(1)  # (B,), before the ReLU


def cubic_kernel(t: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel with parameter ``a`` (−0.5 in the paper, −0.75 in PyTorch)."""
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


def _cubic_matrix(n_in: int, n_out: int, zoom: torch.Tensor, a: float) -> torch.Tensor:
    """Interpolation matrices ``(B, n_out, n_in)`` sampling the input at normalised position
    ``u / zoom`` for each output position ``u`` (align_corners=False); outside is zero."""
    u = (2 * torch.arange(n_out, dtype=zoom.dtype, device=zoom.device) + 1) / n_out - 1  # (n_out,)
    src = ((u[None, :] / zoom[:, None] + 1) * n_in - 1) / 2  # (B, n_out) in input pixels
    grid = torch.arange(n_in, dtype=zoom.dtype, device=zoom.device)
    return cubic_kernel(src[:, :, None] - grid[None, None, :], a)


def scale_warp(x: torch.Tensor, zoom: torch.Tensor, out_size: tuple[int, int] | None = None,
               a: float = -0.5) -> torch.Tensor:
    """Separable bicubic resampling of ``x`` (B, C, H, W) through the affine grid ``diag(1/zoom)``:
    the content is scaled by ``zoom`` about the centre (``zoom < 1`` shrinks it inside the canvas).
    With ``out_size`` and ``zoom = 1`` this is a plain bicubic resize. Differentiable in ``zoom``."""
    b, _c, h, w = x.shape
    oh, ow = out_size if out_size is not None else (h, w)
    zoom = zoom.to(x.dtype).expand(b)
    mh = _cubic_matrix(h, oh, zoom, a)  # (B, oh, h)
    mw = _cubic_matrix(w, ow, zoom, a)  # (B, ow, w)
    return torch.einsum("boh,bchw,bpw->bcop", mh, x, mw)
