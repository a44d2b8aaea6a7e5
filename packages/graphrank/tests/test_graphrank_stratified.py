"""Stratified (within-stratum) permutations: counts kept, exact calibration under a null that the
strata confound, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from methodzoo.graphrank import rise_test
from methodzoo.graphrank.stratified import permute_within_strata
from methodzoo.shared.errors import UserError
from methodzoo.shared.testing import binomial_band


def confounded_null(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two strata with different distributions and opposite label proportions; within each
    stratum X and Y are exchangeable, so the stratified null holds and the plain one does not."""
    stratum = np.repeat([0, 1], 30)  # (60,)
    points = rng.normal(size=(60, 5)) + 1.5 * stratum[:, None]
    labels = np.concatenate([rng.permutation(np.arange(30) < 22), rng.permutation(np.arange(30) < 8)])
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)  # (60, 60)
    return distances, labels, stratum


def test_within_stratum_permutations_keep_each_strata_label_counts() -> None:
    rng = np.random.default_rng(0)
    labels = rng.random(50) < 0.4
    codes = rng.integers(0, 4, size=50)
    batch = permute_within_strata(labels, codes, 200, rng)  # (50, 200)
    for code in range(4):
        members = codes == code
        np.testing.assert_array_equal(batch[members].sum(axis=0), labels[members].sum())
    assert not np.all(batch == labels[:, None])  # it does permute


def test_stratified_null_is_calibrated_where_the_plain_test_is_not() -> None:
    rng = np.random.default_rng(1)
    draws, alpha = 200, 0.05
    plain, stratified = [], []
    for _ in range(draws):
        distances, labels, stratum = confounded_null(rng)
        plain.append(rise_test(distances, labels, metric="precomputed", k=5).pvalue)
        result = rise_test(distances, labels, metric="precomputed", k=5, strata=stratum, permutations=99,
                           generator=rng)
        assert result.pvalue_asymptotic is None and result.options["strata"] == 2
        stratified.append(result.pvalue)
    plain_rate = np.mean(np.array(plain) <= alpha)
    rejections = int(np.sum(np.array(stratified) <= alpha))
    low, high = binomial_band(draws, alpha)  # 99% band of a calibrated test
    assert plain_rate > 0.5, plain_rate  # the confounder really breaks the plain null
    assert low <= rejections <= high, (rejections, low, high)
    assert stats.kstest(stratified, "uniform").pvalue > 0.001


def test_stratified_test_detects_a_within_stratum_difference() -> None:
    rng = np.random.default_rng(2)
    distances, labels, stratum = confounded_null(rng)
    points = rng.normal(size=(60, 5)) * np.where(labels, 1.0, 1.8)[:, None] + 3.0 * stratum[:, None]
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    result = rise_test(distances, labels, metric="precomputed", k=5, strata=stratum, permutations=199,
                       generator=0)
    assert result.pvalue <= 0.01


def test_stratified_results_are_reproducible_and_strata_may_be_names() -> None:
    distances, labels, stratum = confounded_null(np.random.default_rng(3))
    first = rise_test(distances, labels, metric="precomputed", strata=stratum, permutations=99, generator=5)
    named = rise_test(distances, labels, metric="precomputed", strata=np.where(stratum, "male", "female"),
                      permutations=99, generator=5)
    assert first.statistic == named.statistic and first.pvalue == named.pvalue


def test_stratified_errors() -> None:
    distances, labels, stratum = confounded_null(np.random.default_rng(4))
    with pytest.raises(UserError, match="needs permutations"):
        rise_test(distances, labels, metric="precomputed", strata=stratum)
    with pytest.raises(UserError, match="length N"):
        rise_test(distances, labels, metric="precomputed", strata=stratum[:-1], permutations=9)
    with pytest.raises(UserError, match="both samples"):
        rise_test(distances, labels, metric="precomputed", strata=labels.astype(int), permutations=9)
