"""G(x, a): exact identity at a₀, gradients against finite differences, closed-form oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from methodzoo.attr_adv.transforms import (
    ATTRIBUTE_NAMES,
    NEUTRAL,
    apply_attributes,
    gaussian_kernels,
)
from methodzoo.shared.errors import UserError

NON_NEUTRAL = {"rotation": 17.0, "translate_x": 1.3, "translate_y": -0.7, "scale": 1.12, "blur": 0.8,
               "contrast": 0.7, "brightness": 0.06, "noise": 0.05}


def _images(dtype: torch.dtype = torch.float32, n: int = 3, size: int = 12) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.rand(n, 2, size, size, generator=generator, dtype=dtype)


@pytest.mark.parametrize("name", ATTRIBUTE_NAMES)
def test_each_neutral_attribute_is_the_exact_identity(name: str) -> None:
    x = _images()
    out = apply_attributes(x, {name: torch.full((3,), NEUTRAL[name])}, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out, x)


def test_all_neutral_attributes_together_are_the_exact_identity() -> None:
    from methodzoo.shared.data import load_dataset

    digits = load_dataset("mnist-digits").as_float()[:16]  # real images: many exact 0s and 1s
    neutral = {name: torch.full((16,), value) for name, value in NEUTRAL.items()}
    assert torch.equal(apply_attributes(digits, neutral, generator=torch.Generator().manual_seed(0)), digits)
    assert torch.equal(apply_attributes(digits, neutral, noise=torch.randn_like(digits), clip=False), digits)


@pytest.mark.parametrize("name", ATTRIBUTE_NAMES)
def test_gradient_of_each_transform_matches_finite_differences(name: str) -> None:
    x = _images(torch.float64) * 0.8 + 0.1  # away from the clip at 0 and 1
    noise = torch.randn_like(x)
    weights = torch.randn_like(x)
    value = torch.tensor([NON_NEUTRAL[name], 0.5 * (NON_NEUTRAL[name] + NEUTRAL[name]), NON_NEUTRAL[name]],
                         dtype=torch.float64, requires_grad=True)

    def loss(a: torch.Tensor) -> torch.Tensor:
        return (apply_attributes(x, {name: a}, noise=noise, clip=False) * weights).sum()

    # central differences with eps 1e-6 against autograd, relative tolerance 1e-3
    assert torch.autograd.gradcheck(loss, (value,), eps=1e-6, atol=1e-6, rtol=1e-3)


def test_gradient_through_the_whole_composition_matches_finite_differences() -> None:
    x = _images(torch.float64, n=2) * 0.8 + 0.1
    noise, weights = torch.randn_like(x), torch.randn_like(x)
    names = list(NON_NEUTRAL)
    # (2 images, 8 attributes). Not at a₀: there the bilinear sample points sit exactly on pixel
    # centres, where interpolation has a kink and autograd returns a one-sided derivative.
    values = torch.tensor([[NON_NEUTRAL[n] for n in names],
                           [NEUTRAL[n] + 0.4 * (NON_NEUTRAL[n] - NEUTRAL[n]) for n in names]],
                          dtype=torch.float64, requires_grad=True)

    def loss(a: torch.Tensor) -> torch.Tensor:
        return (apply_attributes(x, {n: a[:, k] for k, n in enumerate(names)}, noise=noise, clip=False)
                * weights).sum()

    assert torch.autograd.gradcheck(loss, (values,), eps=1e-6, atol=1e-6, rtol=1e-3)


def test_quarter_turn_equals_rot90_and_whole_pixel_shifts_equal_a_roll() -> None:
    x = _images()
    turned = apply_attributes(x, {"rotation": torch.full((3,), 90.0)}, clip=False)
    # positive angles turn clockwise on screen (rows grow downwards)
    assert torch.allclose(turned, torch.rot90(x, k=-1, dims=(2, 3)), atol=1e-5)
    shifted = apply_attributes(x, {"translate_x": torch.full((3,), 2.0), "translate_y": torch.full((3,), -1.0)},
                               clip=False)
    expected = torch.zeros_like(x)
    expected[:, :, :-1, 2:] = x[:, :, 1:, :-2]  # right by 2, up by 1, zeros enter
    assert torch.allclose(shifted, expected, atol=1e-5)


def test_scale_two_magnifies_about_the_centre() -> None:
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 10, 10] = 1.0  # 3.5 px up-left of the centre (13.5, 13.5)
    out = apply_attributes(x, {"scale": torch.tensor([2.0])}, clip=False)
    row, column = divmod(int(out.flatten().argmax()), 28)
    assert (row, column) in {(6, 6), (6, 7), (7, 6), (7, 7)}  # 7 px up-left: 6.5


def test_blur_matches_scipy_gaussian_filter() -> None:
    from scipy.ndimage import gaussian_filter

    x = _images(torch.float64, n=2, size=16)
    sigma = torch.tensor([1.0, 0.5], dtype=torch.float64)
    out = apply_attributes(x, {"blur": sigma}, clip=False)
    for i, s in enumerate(sigma.tolist()):
        # scipy's radius int(truncate·σ + 0.5) equals ours, ceil(3σ), for σ = 1 with truncate 3 and
        # for σ = 0.5 with truncate 4 (radius 2 both) — but ours uses the radius of the batch's max σ
        expected = gaussian_filter(x[i].numpy(), sigma=(0, s, s), mode="nearest", truncate=3.0 if s == 1 else 6.0)
        assert np.allclose(out[i].numpy(), expected, atol=1e-3 if s == 0.5 else 1e-12)
    kernels = gaussian_kernels(torch.tensor([0.0, 0.3, 2.0]), radius=6)
    assert torch.allclose(kernels.sum(dim=1), torch.ones(3))
    assert kernels[0, 6] == 1.0 and kernels[0].sum() == 1.0  # σ = 0: a delta


def test_photometric_transforms_follow_their_formulas() -> None:
    x = _images(torch.float64) * 0.5 + 0.25
    contrast = apply_attributes(x, {"contrast": torch.full((3,), 0.5, dtype=torch.float64)}, clip=False)
    assert torch.allclose(contrast.mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)))
    assert torch.allclose(contrast.std(dim=(1, 2, 3)), 0.5 * x.std(dim=(1, 2, 3)))
    bright = apply_attributes(x, {"brightness": torch.full((3,), 0.1, dtype=torch.float64)})
    assert torch.allclose(bright, x + 0.1)
    noise = torch.randn_like(x)
    noisy = apply_attributes(x, {"noise": torch.full((3,), 0.2, dtype=torch.float64)}, noise=noise, clip=False)
    assert torch.allclose(noisy, x + 0.2 * noise)
    clipped = apply_attributes(x, {"brightness": torch.full((3,), 2.0, dtype=torch.float64)})
    assert torch.equal(clipped, torch.ones_like(x))


def test_bad_attributes_are_clear_errors() -> None:
    x = _images()
    with pytest.raises(UserError, match="unknown attribute"):
        apply_attributes(x, {"hue": torch.zeros(3)})
    with pytest.raises(UserError, match="one value per image"):
        apply_attributes(x, {"rotation": torch.zeros(2)})
    with pytest.raises(UserError, match=r"\(N, C, H, W\)"):
        apply_attributes(x[0], {"rotation": torch.zeros(3)})
