"""Plain and modified recurrence plots against a naive-loop oracle, and the invariances the
paper's argument rests on (pyts identity: test_rp_har_pyts.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from methodzoo.rp_har.recurrence import modified_recurrence_plot, recurrence_plot
from methodzoo.shared.errors import UserError


def _series(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _naive_plot(x: np.ndarray, m: int, tau: int, weight: str = "none") -> np.ndarray:
    """One series, loops over (i, j) in plain Python: the independent oracle."""
    count = len(x) - (m - 1) * tau
    states = [np.array([x[i + k * tau] for k in range(m)]) for i in range(count)]
    out = np.zeros((count, count))
    for i in range(count):
        for j in range(count):
            difference = states[i] - states[j]
            distance = math.sqrt(sum(v * v for v in difference))
            if weight == "diff_angle_sign":
                distance *= np.sign(difference.sum())
            elif weight == "state_angle_exp":
                norm = math.sqrt(sum(v * v for v in states[i]))
                cosine = states[i][0] / norm if norm > 0 else 0.0
                distance *= math.exp(5 * (1.1 - cosine))
            out[i, j] = distance
    return out


@pytest.mark.parametrize("weight", ["none", "diff_angle_sign", "state_angle_exp"])
def test_batched_plots_equal_a_naive_per_sample_loop(weight):
    x = _series((3, 2, 25), seed=3)
    images = modified_recurrence_plot(x, dimension=3, time_delay=2, trend_weight=weight, dtype=torch.float64)
    assert images.shape == (3, 2, 21, 21)
    for n in range(3):
        for c in range(2):
            np.testing.assert_allclose(images[n, c].numpy(), _naive_plot(x[n, c], 3, 2, weight), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m", [1, 2, 3])
@pytest.mark.parametrize("threads", [1, 3])
def test_chunked_float32_path_matches_the_float64_reference(m, threads, monkeypatch):
    from methodzoo.rp_har import chunks

    monkeypatch.setattr(chunks, "GRAIN_SIZE", 3 * 30 * 30)  # 2 plots a chunk, a ragged last one
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    x = torch.from_numpy(_series((7, 2, 31), seed=6))
    fast = recurrence_plot(x.float(), m)
    assert fast.dtype == torch.float32 and fast.is_contiguous()
    torch.testing.assert_close(fast, recurrence_plot(x, m, dtype=torch.float64).float(), rtol=1e-5, atol=1e-5)
    assert bool((torch.diagonal(fast, dim1=-2, dim2=-1) == 0).all())


def test_plain_rp_is_symmetric_non_negative_zero_on_the_diagonal():
    plot = recurrence_plot(_series((5, 60)), dimension=3, time_delay=2)
    assert torch.equal(plot, plot.transpose(-1, -2))
    assert bool((plot >= 0).all())
    assert bool((torch.diagonal(plot, dim1=-2, dim2=-1) == 0).all())


def test_plain_rp_ignores_sign_and_offset_and_scales_with_the_signal():
    x = torch.from_numpy(_series((4, 64), seed=4))
    plot = recurrence_plot(x, 2, dtype=torch.float64)
    assert torch.equal(recurrence_plot(-x, 2, dtype=torch.float64), plot)
    torch.testing.assert_close(recurrence_plot(x + 7.5, 2, dtype=torch.float64), plot, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(recurrence_plot(-3 * x, 2, dtype=torch.float64), 3 * plot, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("m, tau", [(1, 1), (2, 1), (3, 2)])
def test_time_reversal_rotates_both_plots_by_180_degrees(m, tau):
    x = torch.from_numpy(_series((3, 50), seed=5))
    reversed_x = x.flip(-1)
    for weight in ("none", "diff_angle_sign"):
        plot = modified_recurrence_plot(x, m, tau, trend_weight=weight, dtype=torch.float64)
        flipped = modified_recurrence_plot(reversed_x, m, tau, trend_weight=weight, dtype=torch.float64)
        torch.testing.assert_close(flipped, plot.flip(-1, -2), rtol=1e-12, atol=1e-12)


def test_on_a_trend_reversal_keeps_the_plain_rp_and_flips_the_signed_one():
    ramp = torch.linspace(0, 3, 40, dtype=torch.float64) + 0.1 * torch.sin(torch.arange(40.0, dtype=torch.float64))
    mirrored = -ramp  # a downward trend with the mirrored wiggle: what time reversal does to a ramp
    plain, plain_mirrored = (recurrence_plot(s, 2, dtype=torch.float64) for s in (ramp, mirrored))
    signed, signed_mirrored = (modified_recurrence_plot(s, 2, dtype=torch.float64) for s in (ramp, mirrored))
    assert torch.equal(plain, plain_mirrored)
    assert torch.equal(signed_mirrored, -signed)
    assert not torch.equal(signed, -signed)
    pure = torch.arange(30, dtype=torch.float64)  # integers: reversal is exactly a negation plus 29
    assert torch.equal(recurrence_plot(pure.flip(0), 2, dtype=torch.float64), recurrence_plot(pure, 2, dtype=torch.float64))
    assert torch.equal(modified_recurrence_plot(pure.flip(0), 2, dtype=torch.float64),
                               -modified_recurrence_plot(pure, 2, dtype=torch.float64))


def test_signed_plot_is_antisymmetric_with_the_uphill_half_positive():
    plot = modified_recurrence_plot(torch.arange(6.0), dimension=2)
    assert torch.equal(plot, -plot.T)
    rows, columns = torch.tril_indices(5, 5, offset=-1)
    assert bool((plot[rows, columns] > 0).all())  # later minus earlier states: uphill


def test_lu_tong_weight_depends_on_the_row_state_only():
    x = torch.tensor([1.0, 2.0, -1.0, 0.5, 3.0])
    plot = modified_recurrence_plot(x, 2, trend_weight="state_angle_exp")
    ratio = plot / recurrence_plot(x, 2).clamp_min(1e-12)
    off_diagonal = ~torch.eye(4, dtype=torch.bool)
    for i in range(4):
        row = ratio[i][off_diagonal[i]]
        torch.testing.assert_close(row, row[:1].expand_as(row))


@pytest.mark.parametrize("x, message", [
    (np.zeros((2, 2, 2, 5)), "expected a series"),
    (np.array([1.0, np.nan, 2.0]), "NaN"),
    (np.zeros(3), "no state of dimension"),
])
def test_bad_input_is_a_clear_user_error(x, message):
    with pytest.raises(UserError, match=message):
        recurrence_plot(x, dimension=3, time_delay=2)


def test_bad_thresholds_are_user_errors():
    with pytest.raises(UserError, match="threshold"):
        recurrence_plot(np.zeros((1, 5)), threshold="nearest")
    with pytest.raises(UserError, match="threshold"):
        recurrence_plot(np.zeros((1, 5)), threshold=-1.0)


def test_shapes_follow_the_input():
    assert recurrence_plot(np.zeros(10), 2).shape == (9, 9)
    assert recurrence_plot(np.zeros((4, 10)), 2).shape == (4, 9, 9)
    assert recurrence_plot(np.zeros((4, 3, 10)), 2, 2).shape == (4, 3, 8, 8)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_plots_equal_cpu_plots():
    x = torch.from_numpy(_series((8, 3, 64))).float()
    for weight in ("none", "diff_angle_sign", "state_angle_exp"):
        cpu = modified_recurrence_plot(x, 2, trend_weight=weight)
        gpu = modified_recurrence_plot(x.cuda(), 2, trend_weight=weight)
        assert gpu.is_cuda
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-5)
