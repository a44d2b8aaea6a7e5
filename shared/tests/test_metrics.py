import math

import numpy as np
import pytest
import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.metrics import (
    accuracy,
    bd_psnr,
    bd_rate,
    bits_per_pixel,
    classifier_frechet_distance,
    estimated_bits,
    frechet_distance,
    gaussian_frechet_distance,
    mmd,
    ms_ssim,
    ms_ssim_db,
    psnr,
    rate_distortion_front,
    sliced_wasserstein,
)


def test_accuracy():
    assert accuracy(torch.tensor([1, 2, 3, 4]), torch.tensor([1, 2, 0, 0])) == 0.5
    with pytest.raises(UserError):
        accuracy(torch.tensor([1, 2]), torch.tensor([1]))


def test_psnr_known_value():
    x = torch.zeros(1, 3, 8, 8)
    y = torch.full((1, 3, 8, 8), 255.0 / 10)  # MSE = (255/10)^2 → PSNR = 20 dB
    assert psnr(x, y).item() == pytest.approx(20.0)
    assert math.isinf(psnr(x, x).item())


def test_ms_ssim_identity_and_degradation():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, 3, 192, 192, generator=generator) * 255
    assert ms_ssim(x, x).item() == pytest.approx(1.0, abs=1e-6)
    noisy = (x + 40 * torch.randn(x.shape, generator=generator)).clamp(0, 255)
    assert ms_ssim(x, noisy).item() < 0.95
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
    with pytest.raises(UserError, match="160"):
        ms_ssim(x[..., :100, :100], x[..., :100, :100])


def test_bits_per_pixel_and_estimated_bits():
    assert bits_per_pixel(100, 800) == 1.0
    assert bits_per_pixel(100, 800, unit="bits") == 0.125
    assert estimated_bits([torch.full((4,), 0.5), torch.full((2,), 0.25)]).item() == pytest.approx(8.0)


def test_bd_rate_closed_form():
    rates = np.array([0.2, 0.4, 0.8, 1.6])
    quality = np.array([28.0, 31.0, 34.5, 38.0])
    assert bd_rate(rates, quality, 0.9 * rates, quality) == pytest.approx(-10.0, abs=1e-9)
    assert bd_rate(rates, quality, 1.25 * rates, quality) == pytest.approx(25.0, abs=1e-9)
    assert bd_psnr(rates, quality, rates, quality + 0.5) == pytest.approx(0.5, abs=1e-9)
    with pytest.raises(UserError, match="do not overlap"):
        bd_rate(rates, quality, rates, quality + 20)


def test_bd_rate_pchip_matches_closed_form_and_follows_a_bent_curve():
    rates = np.array([0.1, 0.15, 0.25, 0.5])
    quality = np.array([20.0, 21.5, 22.2, 22.4])  # saturating, as short training gives
    for c in (0.6, 1.3):
        assert bd_rate(rates, quality, c * rates, quality, method="pchip") == pytest.approx(100 * (c - 1), abs=1e-9)
    # The interpolant passes through the points, so the mean log-rate gap of two curves that
    # differ only at their top point stays between 0 and that point's gap: no cubic overshoot.
    bent = rates.copy()
    bent[-1] *= 4
    value = bd_rate(rates, quality, bent, quality, method="pchip")
    assert 0 < value < 300
    with pytest.raises(UserError, match="rise strictly"):
        bd_rate(rates, quality[::-1], rates, quality, method="pchip")
    with pytest.raises(UserError, match="unknown BD method"):
        bd_rate(rates, quality, rates, quality, method="linear")


def test_rate_distortion_front_drops_dominated_points():
    rates, quality = rate_distortion_front([0.4, 0.1, 0.3, 0.2], [22.0, 20.0, 22.1, 21.0])
    assert rates == [0.1, 0.2, 0.3]
    assert quality == [20.0, 21.0, 22.1]


def test_sliced_wasserstein_of_a_shift():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 4, generator=generator)
    delta = torch.tensor([1.0, -1.0, 2.0, 0.0])
    # Projections of x + δ are those of x shifted by θ·δ, so SW2² = E(θ·δ)² = |δ|²/D.
    value = sliced_wasserstein(x, x + delta, num_projections=4000)
    assert value == pytest.approx(delta.norm().item() / 2.0, rel=0.03)
    assert sliced_wasserstein(x, x) == 0.0


def test_mmd_known_value_and_zero():
    x, y = torch.tensor([[0.0]]).repeat(2, 1), torch.tensor([[1.0]]).repeat(2, 1)
    expected = 2.0 - 2.0 * math.exp(-0.5)  # biased estimate, k(a, b) = exp(-|a-b|²/2)
    assert mmd(x, y, bandwidth=1.0, unbiased=False) == pytest.approx(expected)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(300, 2, generator=generator)
    b = torch.randn(300, 2, generator=generator)
    assert abs(mmd(a, b)) < 0.02 < mmd(a, b + 1.5)


def test_frechet_distance_closed_form():
    s1, s2 = np.diag([1.0, 4.0, 9.0]), np.diag([4.0, 1.0, 1.0])
    # (√a − √b)² per axis plus the squared mean difference
    expected = 3.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + (3 - 1) ** 2
    assert gaussian_frechet_distance(np.zeros(3), s1, np.ones(3), s2) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(20000, 2))
    assert frechet_distance(a, a + 2.0) == pytest.approx(8.0, rel=1e-6)


def test_classifier_frechet_distance_separates_digits_from_noise():
    from methodzoo.shared.data import mnist_digits
    from methodzoo.shared.digit_classifier import digit_feature_extractor, digit_frechet_distance

    digits = mnist_digits()
    order = torch.randperm(len(digits), generator=torch.Generator().manual_seed(0))
    same = classifier_frechet_distance(digits.images[order[:500]], digits.images[order[500:1000]],
                                       digit_feature_extractor())
    noise = digit_frechet_distance(digits.images[order[:500]],
                                   torch.rand(500, 28, 28, generator=torch.Generator().manual_seed(1)))
    assert same < 0.1 * noise


@pytest.mark.parametrize("context", ["no_grad", "inference_mode"])
def test_digit_classifier_builds_from_an_empty_cache_inside_no_grad(tmp_path, monkeypatch, context):
    """A new user's first evaluation trains the feature network from nothing, often from inside
    an evaluation that switched gradients off; the weights then land in the cache."""
    from methodzoo.shared import digit_classifier
    from methodzoo.shared.metrics import DigitFeatureNet

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    digit_classifier.digit_feature_extractor.cache_clear()
    try:
        with getattr(torch, context)():
            net = digit_classifier.digit_feature_extractor()
        assert list((tmp_path / "methodzoo" / "features").glob("*.safetensors"))
        reloaded = DigitFeatureNet()  # the cached weights load back into a fresh network
        from methodzoo.shared.train import load_weights

        load_weights(next((tmp_path / "methodzoo" / "features").glob("*.safetensors")), reloaded)
        probe = torch.rand(4, 28, 28, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            assert torch.equal(net(probe), reloaded(probe))
    finally:
        digit_classifier.digit_feature_extractor.cache_clear()
