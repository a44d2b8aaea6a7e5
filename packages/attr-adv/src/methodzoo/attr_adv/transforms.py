"""The transformation G(x, a): differentiable, composable natural perturbations.

Every attribute has a neutral value a₀ at which its transform returns the input **exactly**
(bit for bit, not just to round-off), and every transform is differentiable in its attribute,
so ∂ℓ(f(G(x, a)), y)/∂a exists for the inner maximisation of AGAT:

=================  ==========================================  ========  =======
attribute          transform                                    unit      neutral
=================  ==========================================  ========  =======
``rotation``       rotation about the image centre              degrees   0
``translate_x``    shift to the right                           pixels    0
``translate_y``    shift down                                   pixels    0
``scale``          zoom about the centre (>1 enlarges)          factor    1
``blur``           Gaussian blur                                σ pixels  0
``contrast``       x + (c − 1)(x − mean(x))                     factor    1
``brightness``     x + b                                        offset    0
``noise``          x + s·ε, ε ~ N(0, I)                         std       0
=================  ==========================================  ========  =======

Positive rotations turn clockwise on screen (rows grow downwards). Bilinear resampling has a
kink where sample points fall exactly on pixel centres (at a₀, and at whole-pixel shifts): there
autograd returns a one-sided derivative; everywhere else the gradient is exact.

They compose in that order (one affine resampling for the four geometric attributes), then the
result is clipped to [0, 1]. Each transform is written as ``x + Δ(x, a)`` with Δ(x, a₀) = 0
exactly: that is what makes the neutral value an exact identity (a plain bilinear resampling at
the identity grid, or a convolution with a delta kernel, is only equal to round-off).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F

from methodzoo.shared.errors import UserError

NEUTRAL: dict[str, float] = {
    "rotation": 0.0,
    "translate_x": 0.0,
    "translate_y": 0.0,
    "scale": 1.0,
    "blur": 0.0,
    "contrast": 1.0,
    "brightness": 0.0,
    "noise": 0.0,
}
UNITS: dict[str, str] = {
    "rotation": "degrees", "translate_x": "pixels", "translate_y": "pixels", "scale": "factor",
    "blur": "sigma (pixels)", "contrast": "factor", "brightness": "offset", "noise": "std",
}
ATTRIBUTE_NAMES: tuple[str, ...] = tuple(NEUTRAL)
GEOMETRIC = ("rotation", "translate_x", "translate_y", "scale")
BLUR_TRUNCATE = 3.0  # kernel radius in σ, as scipy's gaussian_filter truncates at 4σ, ours at 3σ


def affine_warp(images: torch.Tensor, rotation: torch.Tensor | None = None,
                translate_x: torch.Tensor | None = None, translate_y: torch.Tensor | None = None,
                scale: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate (degrees), translate (pixels) and scale (factor) each image about its centre.

    One bilinear resampling (``F.affine_grid`` + ``F.grid_sample``, ``align_corners=False``,
    zeros outside). The object moves by q = s·R(θ)·p + t in centred pixel coordinates, so the
    sampling grid is the inverse map p = R(−θ)(q − t)/s. Missing attributes are neutral.
    """
    n, _, height, width = images.shape
    zero = images.new_zeros(n)
    angle = torch.deg2rad(rotation) if rotation is not None else zero
    shift_x = translate_x if translate_x is not None else zero
    shift_y = translate_y if translate_y is not None else zero
    inverse_scale = 1.0 / scale if scale is not None else zero + 1.0
    cos, sin = torch.cos(angle), torch.sin(angle)
    # R(−θ) in normalised coordinates: D⁻¹ R D with D = diag(W/2, H/2) keeps angles true on
    # non-square images; written so that θ = 0 gives exactly the identity matrix.
    a11, a12 = cos * inverse_scale, sin * (height / width) * inverse_scale
    a21, a22 = -sin * (width / height) * inverse_scale, cos * inverse_scale
    tx, ty = 2.0 * shift_x / width, 2.0 * shift_y / height  # pixels → normalised units
    theta = torch.stack([
        torch.stack([a11, a12, -(a11 * tx + a12 * ty)], dim=1),
        torch.stack([a21, a22, -(a21 * tx + a22 * ty)], dim=1),
    ], dim=1)  # (N, 2, 3)
    identity = torch.eye(2, 3, dtype=images.dtype, device=images.device).expand(n, 2, 3)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    identity_grid = F.affine_grid(identity, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    resampled = F.grid_sample(images, identity_grid, mode="bilinear", padding_mode="zeros",
                              align_corners=False)
    # The identity resampling differs from the input by round-off; subtracting it makes the
    # neutral attributes an exact identity while the gradient still flows through `warped`.
    return images + (warped - resampled.detach())


def gaussian_kernels(sigma: torch.Tensor, radius: int) -> torch.Tensor:
    """Normalised 1-D Gaussian kernels ``(N, 2·radius + 1)``, one per σ; σ = 0 gives a delta."""
    offsets = torch.arange(-radius, radius + 1, dtype=sigma.dtype, device=sigma.device)
    # 1e-12 keeps σ = 0 finite (a delta) and differentiable; it is far below any σ that matters.
    weights = torch.exp(-(offsets**2) / (2.0 * sigma[:, None] ** 2 + 1e-12))
    return weights / weights.sum(dim=1, keepdim=True)


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor, radius: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur with a per-image σ (pixels), edges replicated.

    The kernel radius is ``ceil(3·max σ)`` unless given. Each pass is ``x + conv(x, k − δ)``:
    at σ = 0 the kernel minus the delta is exactly zero, so the blur is an exact identity.
    """
    n, channels, height, width = images.shape
    if radius is None:
        radius = math.ceil(BLUR_TRUNCATE * float(sigma.detach().max())) if n else 0
    kernels = gaussian_kernels(sigma, radius)
    delta = torch.zeros_like(kernels)
    delta[:, radius] = 1.0
    difference = (kernels - delta).repeat_interleave(channels, dim=0)  # (N·C, 2r + 1)
    flat = images.reshape(1, n * channels, height, width)  # one group per (image, channel)
    horizontal = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="replicate"),
                          difference[:, None, None, :], groups=n * channels)
    flat = flat + horizontal
    vertical = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="replicate"),
                        difference[:, None, :, None], groups=n * channels)
    return (flat + vertical).reshape(n, channels, height, width)


def adjust_contrast(images: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
    """Scale each image's deviation from its mean intensity by ``contrast`` (1: unchanged)."""
    mean = images.mean(dim=(1, 2, 3), keepdim=True)
    return images + (contrast - 1.0)[:, None, None, None] * (images - mean)


def adjust_brightness(images: torch.Tensor, brightness: torch.Tensor) -> torch.Tensor:
    """Add ``brightness`` to every pixel (0: unchanged)."""
    return images + brightness[:, None, None, None]


def add_noise(images: torch.Tensor, level: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Add ``level``·ε with a given standard normal ε of the images' shape (level 0: unchanged)."""
    return images + level[:, None, None, None] * noise


def apply_attributes(images: torch.Tensor, attributes: Mapping[str, torch.Tensor], *,
                     noise: torch.Tensor | None = None, generator: torch.Generator | None = None,
                     clip: bool = True) -> torch.Tensor:
    """G(x, a): apply the attributes to a batch ``(N, C, H, W)`` of images in [0, 1].

    ``attributes`` maps attribute names (:data:`ATTRIBUTE_NAMES`) to per-image tensors ``(N,)``
    in their raw units; missing ones are neutral. The ε of ``noise`` is drawn from ``generator``
    unless given (pass the same ε to evaluate G at several attribute values on the same noise).
    Differentiable in every attribute; all-neutral attributes return ``images`` exactly.
    """
    if images.ndim != 4:
        raise UserError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}")
    unknown = sorted(set(attributes) - set(NEUTRAL))
    if unknown:
        raise UserError(f"unknown attribute(s) {unknown}; valid: {', '.join(ATTRIBUTE_NAMES)}")
    n = images.shape[0]
    for name, value in attributes.items():
        if value.shape != (n,):
            raise UserError(f"attribute {name!r} must be one value per image, shape ({n},), "
                            f"got {tuple(value.shape)}")
    values = {name: value.to(images.dtype) for name, value in attributes.items()}
    out = images
    if any(name in values for name in GEOMETRIC):
        out = affine_warp(out, *(values.get(name) for name in GEOMETRIC))
    if "blur" in values:
        out = gaussian_blur(out, values["blur"])
    if "contrast" in values:
        out = adjust_contrast(out, values["contrast"])
    if "brightness" in values:
        out = adjust_brightness(out, values["brightness"])
    if "noise" in values:
        if noise is None:
            noise = draw_noise(images, generator)
        elif noise.shape != images.shape:
            raise UserError(f"noise must have the images' shape {tuple(images.shape)}, got {tuple(noise.shape)}")
        out = add_noise(out, values["noise"], noise.to(images.dtype))
    return out.clamp(0.0, 1.0) if clip else out


def draw_noise(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A standard normal ε of the images' shape, drawn on the generator's device."""
    device = generator.device if generator is not None else images.device
    return torch.randn(images.shape, generator=generator, dtype=images.dtype, device=device).to(images.device)


__all__ = [
    "ATTRIBUTE_NAMES",
    "NEUTRAL",
    "UNITS",
    "add_noise",
    "adjust_brightness",
    "adjust_contrast",
    "affine_warp",
    "apply_attributes",
    "draw_noise",
    "gaussian_blur",
    "gaussian_kernels",
]
