"""Metrics, each checked in the tests against a closed form or a known value."""

from methodzoo.shared.metrics.classification import accuracy
from methodzoo.shared.metrics.distributions import (
    frechet_distance,
    gaussian_frechet_distance,
    mmd,
    sliced_wasserstein,
)
from methodzoo.shared.metrics.features import DigitFeatureNet, classifier_frechet_distance
from methodzoo.shared.metrics.image import ms_ssim, ms_ssim_db, psnr
from methodzoo.shared.metrics.rate import (
    bd_psnr,
    bd_rate,
    bits_per_pixel,
    estimated_bits,
    rate_distortion_front,
)

__all__ = [
    "DigitFeatureNet",
    "accuracy",
    "bd_psnr",
    "bd_rate",
    "bits_per_pixel",
    "classifier_frechet_distance",
    "estimated_bits",
    "frechet_distance",
    "gaussian_frechet_distance",
    "mmd",
    "ms_ssim",
    "ms_ssim_db",
    "psnr",
    "rate_distortion_front",
    "sliced_wasserstein",
]
