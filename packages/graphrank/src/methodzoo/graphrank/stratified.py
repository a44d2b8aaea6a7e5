"""Stratified (blocked) permutations for grouped data.

When observations come in strata (batches, sites, sexes, genotypes) whose distributions differ
and whose label proportions differ, the plain permutation null — every relabelling equally
likely — is false even when X and Y agree within every stratum, and the test rejects for the
confounder. The stratified null keeps each stratum's label counts and permutes labels only
within strata.

The exact moments of (U_x, U_y) in :mod:`methodzoo.graphrank.statistic` hold for uniform
relabellings, not for within-stratum ones, so here the mean μ̂ and covariance Σ̂ of U are taken
from the observed labelling together with the P stratified relabellings, and every labelling gets
T = (U − μ̂)ᵀ Σ̂⁻¹ (U − μ̂). Because μ̂ and Σ̂ are symmetric functions of all P + 1 labellings, the
observed T is exchangeable with the P permuted ones and the p-value (1 + #{T* ≥ T}) / (1 + P) is
exact. There is no χ² p-value under this null.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse

from methodzoo.shared.errors import UserError

BATCH = 256


def as_strata(strata: Any, labels: np.ndarray) -> np.ndarray:
    """Integer stratum codes (N,) from any 1-D vector of stratum names; checked against ``labels``."""
    array = np.asarray(strata)
    n = labels.shape[0]
    if array.ndim != 1 or array.shape[0] != n:
        raise UserError(f"strata must be a 1-D array of length N = {n}, got shape {array.shape}")
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise UserError("strata contains NaN")
    try:
        _, codes = np.unique(array, return_inverse=True)
    except TypeError as error:
        raise UserError(f"strata must be one comparable type (all numbers or all strings): {error}") from error
    mixed = [code for code in np.unique(codes) if 0 < labels[codes == code].sum() < (codes == code).sum()]
    if not mixed:
        raise UserError("no stratum holds observations of both samples: within-stratum permutations "
                        "cannot change the labelling, so the stratified test is undefined")
    return codes.astype(np.int64)


def permute_within_strata(labels: np.ndarray, codes: np.ndarray, size: int,
                          rng: np.random.Generator) -> np.ndarray:
    """``size`` labellings (N, size), each shuffling ``labels`` independently inside every stratum."""
    batch = np.tile(labels, (size, 1))  # (size, N)
    for code in np.unique(codes):
        members = np.flatnonzero(codes == code)
        batch[:, members] = rng.permuted(batch[:, members], axis=1)
    return batch.T  # (N, size)


def stratified_statistics(ranks: sparse.csr_array, labels: np.ndarray, codes: np.ndarray,
                          permutations: int, rng: np.random.Generator
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """U of the observed labelling (2,), μ̂ (2,), Σ̂ (2, 2), and T of all labellings (1 + P,), the
    observed first."""
    from methodzoo.graphrank.statistic import within_sample_sums

    sums = [within_sample_sums(ranks, labels)[:, None]]  # (2, 1)
    for start in range(0, permutations, BATCH):
        size = min(BATCH, permutations - start)
        sums.append(within_sample_sums(ranks, permute_within_strata(labels, codes, size, rng)))
    u_all = np.concatenate(sums, axis=1)  # (2, 1 + P)
    mean = u_all.mean(axis=1)
    covariance = np.cov(u_all)
    scale = float(np.abs(covariance).max())
    if not np.all(np.isfinite(covariance)) or scale <= 0 or np.linalg.cond(covariance / scale) > 1e12:
        raise UserError("U = (U_x, U_y) does not vary over the stratified permutations (or only along "
                        "one direction): the stratified test is undefined for these strata")
    centred = u_all - mean[:, None]
    statistics = np.einsum("ip,ip->p", centred, np.linalg.solve(covariance, centred))
    return u_all[:, 0], mean, covariance, statistics
