"""Our encoders against pyts 0.14.1 (the peer): RecurrencePlot(threshold=None) pixel for pixel,
its thresholds, GramianAngularField and MarkovTransitionField.

pyts compiles its numba kernels when imported (about 30 s of CPU), so the fast tests compare
with pyts's outputs recorded in ``golden/rp_har_pyts.npz``; the slow test recomputes them with
the installed pyts and checks the file (``METHODZOO_REGENERATE_GOLDEN=1`` rewrites it).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from methodzoo.rp_har.fields import gramian_angular_field, markov_transition_field
from methodzoo.rp_har.recurrence import recurrence_plot

GOLDEN = Path(__file__).parent / "golden" / "rp_har_pyts.npz"
PLOTS = ((1, 1), (2, 1), (2, 3), (4, 2))
THRESHOLDS = (("point", 30.0), ("distance", 30.0), (1.5, 10.0))


def _inputs() -> np.ndarray:
    return np.random.default_rng(2023).standard_normal((4, 32))


def _ours(x: np.ndarray) -> dict[str, np.ndarray]:
    f64 = torch.float64
    out = {f"rp_m{m}_tau{tau}": recurrence_plot(x, m, tau, dtype=f64).numpy() for m, tau in PLOTS}
    for threshold, percentage in THRESHOLDS:
        out[f"rp_threshold_{threshold}"] = recurrence_plot(x, 2, threshold=threshold, percentage=percentage,
                                                           dtype=f64).numpy().astype(np.uint8)
    out["gasf"] = gramian_angular_field(x, "summation", dtype=f64).numpy()
    out["gadf"] = gramian_angular_field(x, "difference", dtype=f64).numpy()
    for bins in (4, 8):
        out[f"mtf_{bins}"] = markov_transition_field(x, bins, dtype=f64).numpy()
    return out


def _pyts(x: np.ndarray) -> dict[str, np.ndarray]:
    image = pytest.importorskip("pyts.image")
    out = {f"rp_m{m}_tau{tau}": image.RecurrencePlot(dimension=m, time_delay=tau, threshold=None).transform(x)
           for m, tau in PLOTS}
    for threshold, percentage in THRESHOLDS:
        peer = image.RecurrencePlot(dimension=2, threshold=threshold, percentage=percentage)
        out[f"rp_threshold_{threshold}"] = peer.transform(x).astype(np.uint8)
    out["gasf"] = image.GramianAngularField(method="summation").transform(x)
    out["gadf"] = image.GramianAngularField(method="difference").transform(x)
    for bins in (4, 8):
        out[f"mtf_{bins}"] = image.MarkovTransitionField(n_bins=bins).transform(x)
    return out


def _golden() -> dict[str, np.ndarray]:
    with np.load(GOLDEN, allow_pickle=False) as stored:
        return {name: stored[name] for name in stored.files}


def test_golden_inputs_are_the_seeded_series():
    assert np.array_equal(_golden()["inputs"], _inputs())


@pytest.mark.parametrize("name", [f"rp_m{m}_tau{tau}" for m, tau in PLOTS if m <= 2])
def test_plain_rp_equals_pyts_pixel_for_pixel(name):
    assert np.array_equal(_ours(_inputs())[name], _golden()[name])


def test_larger_dimensions_equal_pyts_to_a_unit_in_the_last_place():
    np.testing.assert_allclose(_ours(_inputs())["rp_m4_tau2"], _golden()["rp_m4_tau2"], rtol=4e-16, atol=1e-15)


def test_float32_plots_equal_pyts_to_float32_rounding():
    x = _inputs()
    np.testing.assert_allclose(recurrence_plot(x, 2).numpy(), _golden()["rp_m2_tau1"], rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("threshold", [t for t, _ in THRESHOLDS])
def test_thresholded_plots_equal_pyts(threshold):
    name = f"rp_threshold_{threshold}"
    assert np.array_equal(_ours(_inputs())[name], _golden()[name])


@pytest.mark.parametrize("name", ["gasf", "gadf", "mtf_4", "mtf_8"])
def test_fields_equal_pyts(name):
    np.testing.assert_allclose(_ours(_inputs())[name], _golden()[name], rtol=0, atol=1e-15)


@pytest.mark.slow
def test_golden_file_matches_the_installed_pyts():
    x = _inputs()
    live = _pyts(x)
    if os.environ.get("METHODZOO_REGENERATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        np.savez_compressed(GOLDEN, inputs=x, **live)
    golden = _golden()
    for name, value in live.items():
        assert np.array_equal(value, golden[name]), name
