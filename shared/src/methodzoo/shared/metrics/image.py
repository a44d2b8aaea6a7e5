"""Image quality: PSNR and MS-SSIM (pytorch-msssim), per image."""

from __future__ import annotations

import math

import torch

from methodzoo.shared.errors import UserError, missing_extra


def _check_pair(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.shape != y.shape:
        raise UserError(f"images differ in shape: {tuple(x.shape)} vs {tuple(y.shape)}")
    if x.ndim != 4:
        raise UserError(f"expected image batches (N, C, H, W), got shape {tuple(x.shape)}")


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image of ``(N, C, H, W)`` batches (inf if equal)."""
    _check_pair(x, y)
    mse = (x.double() - y.double()).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(data_range**2 / mse)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 255.0) -> torch.Tensor:
    """Multi-scale SSIM per image (5 scales; each side must exceed 160 pixels)."""
    try:
        from pytorch_msssim import ms_ssim as _ms_ssim
    except ImportError:
        raise missing_extra("pytorch_msssim", "methodzoo-shared", "image") from None

    _check_pair(x, y)
    if min(x.shape[-2:]) <= 160:
        raise UserError(f"MS-SSIM with 5 scales needs both sides > 160 pixels, got {tuple(x.shape[-2:])}")
    return _ms_ssim(x.float(), y.float(), data_range=data_range, size_average=False)


def ms_ssim_db(value: float | torch.Tensor) -> float:
    """MS-SSIM on the dB scale used in compression papers: −10·log10(1 − MS-SSIM)."""
    value = float(value)
    return math.inf if value >= 1.0 else -10.0 * math.log10(1.0 - value)
