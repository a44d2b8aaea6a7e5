"""Rates: bits per pixel, estimated bits from likelihoods, Bjøntegaard deltas."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from methodzoo.shared.errors import UserError


def bits_per_pixel(num_bytes_or_bits: float, num_pixels: int, *, unit: str = "bytes") -> float:
    """``8·bytes / pixels`` (or ``bits / pixels`` with ``unit="bits"``)."""
    if num_pixels <= 0:
        raise UserError(f"number of pixels must be positive, got {num_pixels}")
    bits = num_bytes_or_bits * (8 if unit == "bytes" else 1)
    return float(bits) / num_pixels


def estimated_bits(likelihoods: Iterable[torch.Tensor]) -> torch.Tensor:
    """Ideal code length ``−Σ log2 p`` summed over every likelihood tensor."""
    return sum((-torch.log2(p).sum() for p in likelihoods), torch.zeros(()))


def _check_curve(rates: Sequence[float], quality: Sequence[float], name: str,
                 min_points: int = 4) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rates, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1 or len(r) < min_points:
        raise UserError(f"{name}: need at least {min_points} (rate, quality) points of equal length, "
                        f"got {r.shape} and {q.shape}")
    if np.any(r <= 0):
        raise UserError(f"{name}: rates must be positive")
    order = np.argsort(q)
    return np.log(r[order]), q[order]


def rate_distortion_front(rates: Sequence[float], quality: Sequence[float]) -> tuple[list[float], list[float]]:
    """The operating points no other point beats: sorted by rate, each of higher quality than every
    cheaper one (a dominated point, costing more for less quality, is dropped)."""
    front_r: list[float] = []
    front_q: list[float] = []
    for r, q in sorted(zip(rates, quality, strict=True)):
        if not front_q or q > front_q[-1]:
            front_r.append(float(r))
            front_q.append(float(q))
    return front_r, front_q


def bd_rate(rate_anchor: Sequence[float], psnr_anchor: Sequence[float],
            rate_test: Sequence[float], psnr_test: Sequence[float], *, method: str = "cubic") -> float:
    """Bjøntegaard delta rate in percent: the average rate change of the test codec at equal
    quality, over the overlapping quality range. Negative means the test codec needs fewer bits.

    ``method="cubic"``: one cubic fit of log-rate against PSNR per curve (VCEG-M33).
    ``method="pchip"``: piecewise cubic Hermite interpolation through the points (as JVET's common
    test conditions use); it follows curves that bend sharply, where a single cubic overshoots.
    Each curve's PSNR must then increase with its rate (pass :func:`rate_distortion_front` first).

    If the test curve is the anchor with every rate scaled by ``c``, the result is
    ``100·(c − 1)`` exactly.
    """
    min_points = 2 if method == "pchip" else 4  # an interpolant needs 2 points, a cubic fit 4
    log_ra, qa = _check_curve(rate_anchor, psnr_anchor, "anchor", min_points)
    log_rt, qt = _check_curve(rate_test, psnr_test, "test", min_points)
    low, high = max(qa.min(), qt.min()), min(qa.max(), qt.max())
    if low >= high:
        raise UserError("the two rate-distortion curves do not overlap in quality")
    integral_a = _integral(qa, log_ra, low, high, method, "anchor")
    integral_t = _integral(qt, log_rt, low, high, method, "test")
    mean_log_difference = (integral_t - integral_a) / (high - low)
    return float((np.exp(mean_log_difference) - 1.0) * 100.0)


def _integral(x: np.ndarray, y: np.ndarray, low: float, high: float, method: str, name: str) -> float:
    """∫ y(x) dx over [low, high] for the curve through (x, y) fitted by ``method``."""
    if method == "cubic":
        return float(np.diff(np.polyval(np.polyint(np.polyfit(x, y, 3)), [low, high]))[0])
    if method == "pchip":
        from scipy.interpolate import PchipInterpolator

        if np.any(np.diff(x) <= 0) or np.any(np.diff(y) <= 0):  # x arrives sorted
            raise UserError(f"{name}: with method='pchip' quality must rise strictly with rate "
                            "(drop dominated points with rate_distortion_front)")
        return float(PchipInterpolator(x, y).integrate(low, high))
    raise UserError(f"unknown BD method {method!r}; valid: cubic, pchip")


def bd_psnr(rate_anchor: Sequence[float], psnr_anchor: Sequence[float],
            rate_test: Sequence[float], psnr_test: Sequence[float]) -> float:
    """Bjøntegaard delta PSNR in dB: the average quality gain at equal rate."""
    ra, qa = np.log(np.asarray(rate_anchor, float)), np.asarray(psnr_anchor, float)
    rt, qt = np.log(np.asarray(rate_test, float)), np.asarray(psnr_test, float)
    if min(len(ra), len(rt)) < 4:
        raise UserError("need at least 4 points per curve")
    low, high = max(ra.min(), rt.min()), min(ra.max(), rt.max())
    if low >= high:
        raise UserError("the two rate-distortion curves do not overlap in rate")
    fit_a, fit_t = np.polyfit(ra, qa, 3), np.polyfit(rt, qt, 3)
    integral_a = np.diff(np.polyval(np.polyint(fit_a), [low, high]))[0]
    integral_t = np.diff(np.polyval(np.polyint(fit_t), [low, high]))[0]
    return float((integral_t - integral_a) / (high - low))
