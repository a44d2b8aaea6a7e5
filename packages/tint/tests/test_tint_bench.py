"""The benchmark's verdicts on the paper's claim (the runs themselves are the benchmark's)."""

from __future__ import annotations

import pytest

from methodzoo.tint.bench import TARGET_GAIN_SHARE, construction_verdicts, verdicts


def test_verdicts_compare_tints_gain_with_dynamic_evaluations() -> None:
    improves, tracks = verdicts(before=10.0, after=9.0, dynamic=8.0)
    assert improves.held and tracks.held
    assert tracks.ratio == pytest.approx(0.5 / TARGET_GAIN_SHARE)
    improves, tracks = verdicts(before=10.0, after=10.1, dynamic=9.0)
    assert improves.held is False and tracks.held is False
    assert verdicts(before=10.0, after=9.9, dynamic=10.0)[1].held is None  # no gain to track


def _metrics(err64: float, layer_min: float, opt_s3: int) -> dict:
    metrics = {f"S{S}_max_abs_err_vs_reference_fp64": err64 for S in (1, 2, 4)}
    metrics.update({"cosine_vs_sgd_layer0_min": 0.9, "cosine_vs_sgd_layer1_min": layer_min,
                    "opt125m_tint_params_S3": opt_s3, "sparse_max_abs_diff_vs_dense": err64})
    return metrics


def test_construction_verdicts_follow_the_measurements() -> None:
    layout, aligned, size, sparse = construction_verdicts(_metrics(1e-9, 0.5, 2_403_882_509))
    assert layout.held and aligned.held and size.held is False and sparse.held
    assert size.ratio == pytest.approx(2_403_882_509 / 2e9)
    layout, aligned, size, sparse = construction_verdicts(_metrics(1e-3, -0.1, 1_500_000_000))
    assert layout.held is False and aligned.held is False and size.held and sparse.held is False
