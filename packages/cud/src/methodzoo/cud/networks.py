"""Velocity networks v_θ(x, t) with K output heads, and the coupling encoder q_φ(z1 | x).

Every velocity network returns, from one trunk evaluation, the heads g_1..g_K (``heads(x, t)``);
``forward(x, t, head=1)`` returns one. g_1 is the ordinary velocity output; the extra heads of the
order-2/3 objectives are GroupNorm → SiLU → 3×3 conv on the last decoder feature map, initialised
at 1e-5 scale (paper Sec. "RK-23/RK-34"; for the MLP a linear layer at 1e-5 scale).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from methodzoo.cud.config import NetworkConfig
from methodzoo.shared.errors import ConfigError

EXTRA_HEAD_INIT_SCALE = 1e-5


class VelocityNetwork(nn.Module):
    """Base: ``heads(x, t)`` gives the K head outputs, each shaped like ``x``."""

    num_heads: int

    def heads(self, x: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, t: torch.Tensor, head: int = 1) -> torch.Tensor:
        """v_θ(x, t) from head g_``head`` (1-based)."""
        if not 1 <= head <= self.num_heads:
            raise ConfigError(f"head must be in [1, {self.num_heads}], got {head}")
        return self.heads(x, t)[head - 1]


def _time_vector(t: torch.Tensor | float, batch: int, like: torch.Tensor) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=like.dtype, device=like.device)
    return t.expand(batch) if t.ndim == 0 else t.reshape(batch)


def _scale_init(module: nn.Module, scale: float) -> None:
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(scale)


# ----- MLP for vector data ------------------------------------------------------------------------
class VelocityMLP(VelocityNetwork):
    """MLP on [x, t, sin(π k t), cos(π k t)] (k = 1..F) with SiLU layers and K linear heads.

    Half-integer cycles on [0, 1] keep t = 0 and t = 1 apart in the features (integer cycles
    would map both ends to the same point).
    """

    frequencies: torch.Tensor

    def __init__(self, dim: int, config: NetworkConfig, num_heads: int = 1) -> None:
        super().__init__()
        self.dim = dim
        self.num_heads = num_heads
        self.register_buffer("frequencies", torch.arange(1, config.fourier_features + 1, dtype=torch.float32),
                             persistent=False)
        layers: list[nn.Module] = []
        width_in = dim + 1 + 2 * config.fourier_features
        for _ in range(config.depth):
            layers += [nn.Linear(width_in, config.width), nn.SiLU()]
            if config.dropout > 0:
                layers.append(nn.Dropout(config.dropout))
            width_in = config.width
        self.trunk = nn.Sequential(*layers)
        self.outputs = nn.ModuleList(nn.Linear(config.width, dim) for _ in range(num_heads))
        for extra in self.outputs[1:]:
            _scale_init(extra, EXTRA_HEAD_INIT_SCALE)

    def heads(self, x: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ConfigError(f"VelocityMLP expects (batch, {self.dim}) inputs, got {tuple(x.shape)}")
        t = _time_vector(t, x.shape[0], x)[:, None]  # (B, 1)
        angles = math.pi * t * self.frequencies  # (B, F)
        features = self.trunk(torch.cat([x, t, angles.sin(), angles.cos()], dim=1))
        return [out(features) for out in self.outputs]


# ----- U-Net for images ---------------------------------------------------------------------------
def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding of t ∈ [0, 1] (scaled by 1000 as in DDPM/EDM), shape (B, dim)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=t.dtype) / half)
    angles = 1000.0 * t[:, None] * frequencies[None]
    return torch.cat([angles.cos(), angles.sin()], dim=1)


def _groups(channels: int) -> int:
    for groups in (32, 16, 8, 4, 2, 1):
        if channels % groups == 0 and channels // groups >= 2:
            return groups
    return 1


class ResBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, embedding_dim: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(channels_in), channels_in)
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, padding=1)
        self.embed = nn.Linear(embedding_dim, channels_out)
        self.norm2 = nn.GroupNorm(_groups(channels_out), channels_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)  # type: ignore[arg-type]
        self.skip = nn.Conv2d(channels_in, channels_out, 1) if channels_in != channels_out else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.embed(embedding)[:, :, None, None]
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    def __init__(self, channels: int, heads: int = 1) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(_groups(channels), channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(batch, 3, self.heads, channels // self.heads,
                                                 height * width).unbind(1)  # each (B, nh, C/nh, HW)
        out = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        out = out.transpose(-1, -2).reshape(batch, channels, height, width)  # (B, C, H, W)
        return x + self.proj(out)


class UNet(VelocityNetwork):
    """A DDPM/SongUNet-style U-Net with K output heads and prior-ShakeDrop decoder skips.

    Prior ShakeDrop (φ = ``shakedrop_phi``): φ_t = t(1 − 2φ) + φ and every decoder concatenation
    is ``[h·2φ_t, skip·2(1 − φ_t)]``; φ = 0.5 is the identity. It acts at training and sampling.
    """

    def __init__(self, channels: int, resolution: int, config: NetworkConfig, num_heads: int = 1) -> None:
        super().__init__()
        levels = len(config.channel_mult)
        if resolution % (2 ** (levels - 1)) != 0:
            raise ConfigError(f"resolution {resolution} is not divisible by 2^{levels - 1} "
                              f"for channel_mult={config.channel_mult}")
        self.channels = channels
        self.resolution = resolution
        self.num_heads = num_heads
        self.phi = config.shakedrop_phi
        base = config.model_channels
        embedding_dim = 4 * base
        self.base = base
        self.time_mlp = nn.Sequential(nn.Linear(base, embedding_dim), nn.SiLU(),
                                      nn.Linear(embedding_dim, embedding_dim))
        self.stem = nn.Conv2d(channels, base, 3, padding=1)

        self.down = nn.ModuleList()
        skip_channels = [base]
        current, size = base, resolution
        for level, mult in enumerate(config.channel_mult):
            for _ in range(config.num_blocks):
                block = nn.ModuleList([ResBlock(current, base * mult, embedding_dim, config.dropout)])
                current = base * mult
                if size in config.attention_resolutions:
                    block.append(SelfAttention(current))
                self.down.append(block)
                skip_channels.append(current)
            if level != levels - 1:
                self.down.append(nn.ModuleList([nn.Conv2d(current, current, 3, stride=2, padding=1)]))
                skip_channels.append(current)
                size //= 2
        self.middle = nn.ModuleList([ResBlock(current, current, embedding_dim, config.dropout),
                                     SelfAttention(current),
                                     ResBlock(current, current, embedding_dim, config.dropout)])
        self.up = nn.ModuleList()
        for level, mult in reversed(list(enumerate(config.channel_mult))):
            for _ in range(config.num_blocks + 1):
                block = nn.ModuleList([ResBlock(current + skip_channels.pop(), base * mult, embedding_dim,
                                                config.dropout)])
                current = base * mult
                if size in config.attention_resolutions:
                    block.append(SelfAttention(current))
                self.up.append(block)
            if level != 0:
                self.up.append(nn.ModuleList([nn.Upsample(scale_factor=2, mode="nearest"),
                                              nn.Conv2d(current, current, 3, padding=1)]))
                size *= 2
        self.outputs = nn.ModuleList(
            nn.Sequential(nn.GroupNorm(_groups(current), current), nn.SiLU(),
                          nn.Conv2d(current, channels, 3, padding=1))
            for _ in range(num_heads))
        for extra in list(self.outputs)[1:]:
            _scale_init(list(extra.children())[-1], EXTRA_HEAD_INIT_SCALE)  # the 3×3 conv

    def heads(self, x: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        if x.ndim != 4 or x.shape[1] != self.channels or x.shape[2] != self.resolution \
                or x.shape[3] != self.resolution:
            raise ConfigError(f"UNet expects (batch, {self.channels}, {self.resolution}, {self.resolution}) "
                              f"inputs, got {tuple(x.shape)}")
        t = _time_vector(t, x.shape[0], x)
        embedding = self.time_mlp(timestep_embedding(t, self.base))
        phi_t = (t * (1 - 2 * self.phi) + self.phi)[:, None, None, None]  # (B, 1, 1, 1)
        h = self.stem(x)
        skips = [h]
        for block in self.down:
            h = self._run(block, h, embedding)
            skips.append(h)
        for layer in self.middle:
            h = layer(h, embedding) if isinstance(layer, ResBlock) else layer(h)
        for block in self.up:
            if isinstance(next(iter(block.children())), ResBlock):
                h = torch.cat([h * (2 * phi_t), skips.pop() * (2 * (1 - phi_t))], dim=1)
            h = self._run(block, h, embedding)
        return [out(h) for out in self.outputs]

    @staticmethod
    def _run(block: nn.Module, h: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        for layer in block.children():
            h = layer(h, embedding) if isinstance(layer, ResBlock) else layer(h)
        return h


# ----- coupling encoder q_φ(z1 | x) -----------------------------------------------------------------
class CouplingEncoder(nn.Module):
    """Outputs (μ_φ(x), log σ²_φ(x)), each shaped like x, for z1 = μ + σ·ξ (official code's coupling).

    For images a small convolutional encoder at full resolution (the official code uses a
    32-channel SongUNet encoder); for vectors an MLP. The output layer starts at zero, so training
    starts from the independent coupling z1 ~ N(0, I).
    """

    def __init__(self, data_shape: tuple[int, ...], channels: int = 32) -> None:
        super().__init__()
        self.data_shape = data_shape
        if len(data_shape) == 1:
            dim = data_shape[0]
            self.body: nn.Module = nn.Sequential(nn.Linear(dim, 4 * channels), nn.SiLU(),
                                                 nn.Linear(4 * channels, 4 * channels), nn.SiLU())
            self.out: nn.Module = nn.Linear(4 * channels, 2 * dim)
        elif len(data_shape) == 3:
            c = data_shape[0]
            self.body = nn.Sequential(
                nn.Conv2d(c, channels, 3, padding=1), nn.SiLU(),
                nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(_groups(channels), channels), nn.SiLU(),
                nn.Conv2d(channels, channels, 3, padding=1), nn.SiLU())
            self.out = nn.Conv2d(channels, 2 * c, 3, padding=1)
        else:
            raise ConfigError(f"data shape must be (D,) or (C, H, W), got {data_shape}")
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)  # type: ignore[arg-type]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_variance = self.out(self.body(x)).chunk(2, dim=1)
        return mean, log_variance


# ----- the whole model --------------------------------------------------------------------------
class CUDModel(nn.Module):
    """The trained parameters: the velocity network (``velocity``) and, for the vae coupling, the
    encoder (``encoder``; None otherwise). ``model(x, t, head)`` is v_θ."""

    def __init__(self, velocity: VelocityNetwork, encoder: CouplingEncoder | None,
                 data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.velocity = velocity
        self.encoder = encoder
        self.data_shape = tuple(data_shape)

    @property
    def num_heads(self) -> int:
        return self.velocity.num_heads

    def heads(self, x: torch.Tensor, t: torch.Tensor) -> list[torch.Tensor]:
        return self.velocity.heads(x, t)

    def forward(self, x: torch.Tensor, t: torch.Tensor, head: int = 1) -> torch.Tensor:
        return self.velocity(x, t, head)


def build_velocity_network(data_shape: tuple[int, ...], config: NetworkConfig, num_heads: int = 1) -> VelocityNetwork:
    """The velocity network for data of shape ``(D,)`` (MLP) or ``(C, H, W)`` (U-Net)."""
    if config.kind == "mlp":
        if len(data_shape) != 1:
            raise ConfigError(f"kind='mlp' needs vector data (D,), got shape {data_shape}; use kind='unet'")
        return VelocityMLP(data_shape[0], config, num_heads)
    if len(data_shape) != 3 or data_shape[1] != data_shape[2]:
        raise ConfigError(f"kind='unet' needs square images (C, H, H), got shape {data_shape}")
    return UNet(data_shape[0], data_shape[1], config, num_heads)


def build_model(data_shape: tuple[int, ...], config: NetworkConfig, *, order: int = 1,
                coupling: str = "independent") -> CUDModel:
    """v_θ with ``order`` heads, plus the coupling encoder when ``coupling == "vae"``."""
    velocity = build_velocity_network(tuple(data_shape), config, num_heads=order)
    encoder = CouplingEncoder(tuple(data_shape), config.encoder_channels) if coupling == "vae" else None
    return CUDModel(velocity, encoder, tuple(data_shape))

