"""The FFT angular-difference image: a naive per-pair oracle, its range, symmetry and
invariances, and the two degenerate readings the defaults avoid."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from methodzoo.rp_har.config import DegenerateFrequencyWarning, EncodingConfig
from methodzoo.rp_har.frequency import (
    fft_angle,
    fft_windows,
    phase_difference_angle,
    window_phases,
    wrap_phase,
)
from methodzoo.shared.errors import UserError


def _naive_angle(x: np.ndarray, m: int, tau: int, span: int) -> np.ndarray:
    """Per pair (i, j), in NumPy: centred windows, rfft phases of bins 1..⌈L/2⌉−1, wrapped
    differences, angle to the diagonal."""
    count = len(x) - (m - 1) * tau
    left = span // 2
    padded = np.concatenate([np.full(left, x[0]), x, np.full(span - left, x[-1])])
    offset = ((m - 1) * tau) // 2
    phases = [np.angle(np.fft.rfft(padded[i + offset:i + offset + span]))[1:(span - 1) // 2 + 1]
              for i in range(count)]
    out = np.zeros((count, count))
    for i in range(count):
        for j in range(count):
            difference = np.angle(np.exp(1j * (phases[i] - phases[j])))  # wrapped, in [−π, π]
            difference = np.where(np.isclose(difference, -np.pi), np.pi, difference)
            norm = np.linalg.norm(difference)
            out[i, j] = 0.0 if norm == 0 else math.acos(np.clip(difference.sum() / (math.sqrt(len(difference)) * norm), -1, 1))
    return out


def test_equals_a_naive_per_pair_computation():
    x = np.random.default_rng(0).standard_normal(30)
    ours = fft_angle(x, dimension=3, time_delay=2, span=9, dtype=torch.float64).numpy()
    np.testing.assert_allclose(ours, _naive_angle(x, 3, 2, 9), atol=1e-9)


def test_wrap_lies_in_the_half_open_interval():
    angles = torch.linspace(-4 * math.pi, 4 * math.pi, 1001, dtype=torch.float64)
    wrapped = wrap_phase(angles)
    assert bool((wrapped > -math.pi).all() and (wrapped <= math.pi).all())
    torch.testing.assert_close(torch.cos(wrapped), torch.cos(angles))
    assert wrap_phase(torch.tensor(-math.pi, dtype=torch.float64)).item() == math.pi


def test_angles_lie_in_zero_to_pi_with_no_nan_and_zero_where_phases_agree():
    x = torch.randn(4, 3, 64, generator=torch.Generator().manual_seed(1))
    theta = fft_angle(x)
    assert theta.shape == (4, 3, 63, 63) and not bool(theta.isnan().any())
    assert bool((theta >= 0).all() and (theta <= math.pi + 1e-6).all())
    assert bool((torch.diagonal(theta, dim1=-2, dim2=-1) == 0).all())
    constant = fft_angle(torch.full((2, 40), 3.0))  # every phase 0: Δφ = 0 everywhere
    assert bool((constant == 0).all())


def test_swapping_i_and_j_gives_pi_minus_theta():
    theta = fft_angle(torch.randn(3, 50, generator=torch.Generator().manual_seed(2)), dtype=torch.float64)
    mask = ~torch.eye(49, dtype=torch.bool)
    # Δφ_ji = −Δφ_ij except where a difference sits exactly on the wrap at ±π (rare)
    agree = (theta + theta.transpose(-1, -2) - math.pi).abs() < 1e-9
    assert float(agree[:, mask].float().mean()) > 0.99
    cosine = torch.cos(theta)
    assert float(((cosine + cosine.transpose(-1, -2)).abs() < 1e-9)[:, mask].float().mean()) > 0.99


def test_invariant_to_negation_and_to_adding_a_constant():
    x = torch.randn(3, 2, 48, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    theta = fft_angle(x, dtype=torch.float64)
    for changed in (-x, x + 4.0):
        close = (fft_angle(changed, dtype=torch.float64) - theta).abs() < 1e-6
        assert float(close.float().mean()) > 0.999  # a wrap at exactly ±π may flip a rare pixel


def test_windows_are_centred_on_the_states():
    x = torch.arange(10.0)[None]
    windows = fft_windows(x, dimension=3, time_delay=1, span=4)  # states start at 0..7, centres 1..8
    assert windows.shape == (1, 8, 4)
    assert windows[0, 0].tolist() == [0.0, 0.0, 1.0, 2.0] and windows[0, -1].tolist() == [6.0, 7.0, 8.0, 9.0]


def test_the_literal_readings_degenerate_as_documented():
    x = torch.randn(2, 40, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    states = fft_windows(x, dimension=2, time_delay=1, span=0)
    phases = window_phases(states, "full")
    assert bool(torch.isclose(phases.abs(), torch.tensor(0.0, dtype=torch.float64)).logical_or(
        torch.isclose(phases.abs(), torch.tensor(math.pi, dtype=torch.float64))).all())
    # full FFT of real windows: conjugate bins cancel in ⟨Δφ, 1⟩, leaving DC (and Nyquist)
    windows = fft_windows(x, 2, 1, 9)
    full = window_phases(windows, "full")  # (B, T', 9): DC and 4 conjugate pairs
    projection = sum(wrap_phase(full[..., k, None] - full[..., None, :, k]) for k in range(9))
    dc = wrap_phase(full[..., 0, None] - full[..., None, :, 0])
    assert float(((projection - dc).abs() < 1e-9).float().mean()) > 0.99


def test_config_warns_about_the_degenerate_state_fft():
    with pytest.warns(DegenerateFrequencyWarning, match="0 or π"):
        EncodingConfig(fft_span=0, dimension=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EncodingConfig(fft_span=0, dimension=3)
        EncodingConfig()


def test_bad_spans_are_user_errors():
    with pytest.raises(UserError, match="span"):
        fft_angle(torch.randn(10), span=2)
    with pytest.raises(UserError, match="no complex FFT bin"):
        phase_difference_angle(window_phases(torch.randn(1, 5, 2), "positive"))
