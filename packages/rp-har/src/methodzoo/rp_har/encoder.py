"""rp-har's image encoding: sensor windows ``(N, C, T)`` → images ``(N, K, H, W)`` in [0, 1].

The steps are methods named after the paper's pipeline, so a variant overrides one of them:
:meth:`ImageEncoder.temporal_channel` (recurrence plot, modified RP, GAF or MTF per axis),
:meth:`ImageEncoder.frequency_channel` (the FFT angular-difference image per axis),
:meth:`ImageEncoder.combine` (extra channels or a product), :meth:`ImageEncoder.normalize`
and :meth:`ImageEncoder.resize` (bilinear).
"""

from __future__ import annotations

from typing import Any

import torch

from methodzoo.rp_har.config import EncodingConfig
from methodzoo.rp_har.fields import gramian_angular_field, markov_transition_field
from methodzoo.rp_har.frequency import fft_windows, phase_difference_angle, window_phases
from methodzoo.rp_har.images import normalize_images, resize_images
from methodzoo.rp_har.recurrence import apply_trend_weight, state_distances
from methodzoo.rp_har.series import DTYPES, as_batch, delay_embedding
from methodzoo.shared.errors import UserError


class ImageEncoder:
    """Encode series with an :class:`EncodingConfig`; ``batch_size`` windows at a time bounds
    the memory of the intermediate ``(batch·C, T', T')`` plots."""

    def __init__(self, config: EncodingConfig | None = None, batch_size: int = 256) -> None:
        if batch_size < 1:
            raise UserError(f"batch_size must be >= 1, got {batch_size}")
        self.config = config or EncodingConfig()
        self.batch_size = batch_size

    @property
    def dtype(self) -> torch.dtype:
        return DTYPES[self.config.precision]

    # ----- the paper's steps, on (B, T) rows: one row per sample and axis ----------------------
    def temporal_channel(self, rows: torch.Tensor) -> torch.Tensor:
        """The time-domain plot of each row: ``(B, T)`` → ``(B, T', T')``."""
        config = self.config
        if config.encoding == "gaf":
            return gramian_angular_field(rows, config.gaf_method, dtype=self.dtype)
        if config.encoding == "mtf":
            return markov_transition_field(rows, config.mtf_bins, dtype=self.dtype)
        states = delay_embedding(rows, config.dimension, config.time_delay)
        return apply_trend_weight(states, state_distances(states), config.trend_weight,
                               config.weight_scale, config.weight_offset)

    def frequency_channel(self, rows: torch.Tensor) -> torch.Tensor:
        """The angle image of each row mapped by ``frequency_map``: θ/π ∈ [0, 1], cos θ or its
        sign: ``(B, T)`` → ``(B, T', T')``."""
        config = self.config
        windows = fft_windows(rows, config.dimension, config.time_delay, config.fft_span)
        theta = phase_difference_angle(window_phases(windows, config.fft_bins))
        if config.frequency_map == "theta":
            return theta.div_(torch.pi)
        cosine = torch.cos(theta)
        return cosine if config.frequency_map == "cos" else cosine.sign_()

    def combine(self, temporal: torch.Tensor, frequency: torch.Tensor | None) -> torch.Tensor:
        """``(N, C, H, W)`` plots → ``(N, K, H, W)``: the angle images as C more channels, or the
        temporal plot weighted by them (``multiply``: T ⊙ g(θ), with g(θ) = cos θ for ``theta``)."""
        if frequency is None:
            return temporal
        if self.config.combine == "channel":
            return torch.cat([temporal, frequency], dim=1)
        weight = frequency if self.config.frequency_map != "theta" else torch.cos(frequency * torch.pi)
        return temporal * weight

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        return normalize_images(images, self.config.normalize)

    def resize(self, images: torch.Tensor) -> torch.Tensor:
        return resize_images(images, self.config.image_size, self.config.interpolation, self.config.antialias)

    # ----- the whole pipeline -------------------------------------------------------------------
    def encode_windows(self, windows: torch.Tensor) -> torch.Tensor:
        """``(N, C, T)`` of this encoder's dtype → float32 ``(N, K, S, S)``."""
        count, channels, length = windows.shape
        rows = windows.reshape(count * channels, length)
        temporal = self.temporal_channel(rows)
        temporal = temporal.view(count, channels, *temporal.shape[-2:])  # (N, C, T', T')
        frequency = None
        if self.config.uses_frequency:
            angles = self.frequency_channel(rows)
            frequency = angles.view(count, channels, *angles.shape[-2:])  # (N, C, T', T')
        images = self.normalize(self.combine(temporal, frequency))
        return self.resize(images.float())

    def __call__(self, x: Any) -> torch.Tensor:
        """``(T,)`` → ``(K, S, S)``; ``(N, T)`` (one channel) or ``(N, C, T)`` → ``(N, K, S, S)``;
        float32 on the input's device."""
        if isinstance(x, torch.Tensor):
            original_ndim = x.ndim
        else:
            import numpy as np

            original_ndim = np.ndim(x)
        rows, lead = as_batch(x, self.dtype)
        windows = rows.reshape(-1, 1 if len(lead) < 2 else lead[1], rows.shape[-1])  # (N, C, T)
        if windows.shape[0] == 0:
            raise UserError("no series to encode")
        parts = [self.encode_windows(windows[start:start + self.batch_size])
                 for start in range(0, windows.shape[0], self.batch_size)]
        images = torch.cat(parts)
        return images[0] if original_ndim == 1 else images


def encode(x: Any, config: EncodingConfig | None = None, *, batch_size: int = 256) -> torch.Tensor:
    """Encode series as images with ``config`` (default: rp-har's signed modified RP + FFT angle
    channels at 224×224): ``(N, C, T)`` → float32 ``(N, K, S, S)`` in [0, 1] (``(N, T)`` is one
    channel; ``(T,)`` gives ``(K, S, S)``).

    >>> encode(torch.randn(4, 3, 50), EncodingConfig(image_size=32)).shape
    torch.Size([4, 6, 32, 32])
    """
    return ImageEncoder(config, batch_size)(x)


__all__ = ["ImageEncoder", "encode"]
