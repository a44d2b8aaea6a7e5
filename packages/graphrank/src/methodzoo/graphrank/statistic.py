"""The RISE statistic and its exact permutation moments (Zhou & Chen, COLT 2023, Section 3).

For a symmetric rank matrix R (any symmetric matrix works; the diagonal is ignored) and labels
g_i ∈ {X, Y} with m X's and n Y's, N = m + n, over ordered pairs i ≠ j:

    U_x = Σ_{i≠j} R_ij 1{g_i = g_j = X},    U_y = Σ_{i≠j} R_ij 1{g_i = g_j = Y}.

Under the permutation null (labels uniformly reshuffled), with R₀ = Σ_{i≠j} R_ij,
A = Σ_{i≠j} R_ij², B = Σ_i (Σ_{j≠i} R_ij)², p₂ = m(m−1)/(N(N−1)), p₃ = p₂(m−2)/(N−2),
p₄ = p₃(m−3)/(N−3) (q's alike with n) and p_xy = m(m−1)n(n−1)/(N(N−1)(N−2)(N−3)):

    E U_x = p₂ R₀
    Var U_x = 2A p₂ + 4(B − A) p₃ + (R₀² + 2A − 4B) p₄ − (p₂ R₀)²
    Cov(U_x, U_y) = (R₀² + 2A − 4B) p_xy − p₂ q₂ R₀²

and T = (U − μ)ᵀ Σ⁻¹ (U − μ) is asymptotically χ²₂ (the paper's Theorem). These moments are
exact for every N, so they are checked against full enumeration in the tests. With R the 0/1
adjacency matrix this is Chen & Friedman's generalized edge-count test.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse, stats

from methodzoo.shared.errors import UserError

MIN_SAMPLE = 4


class SmallSampleWarning(UserWarning):
    """The χ²₂ approximation is slightly liberal for small samples; use ``permutations``."""


@dataclass(frozen=True)
class RankSums:
    """R₀, A and B of a rank matrix (the only quantities the moments need)."""

    r0: float
    a: float
    b: float


@dataclass(frozen=True)
class NullMoments:
    """Exact permutation mean ``mean`` (2,) and covariance ``covariance`` (2, 2) of U = (U_x, U_y)."""

    mean: np.ndarray
    covariance: np.ndarray


@dataclass(frozen=True)
class RiseResult:
    """Result of a RISE test. Unpacks like hyppo's ``(stat, pvalue)``.

    ``pvalue`` is the permutation p-value when ``permutations > 0``, else the asymptotic χ²₂ one;
    both are kept in ``pvalue_asymptotic`` and ``pvalue_permutation``. With ``strata`` the
    permutations are within strata, ``mean``/``covariance`` are their Monte Carlo moments and
    ``pvalue_asymptotic`` is None (no χ² limit is claimed under that null). ``ranks`` (the sparse
    rank matrix used), ``graph`` (the :class:`~methodzoo.graphrank.graphs.SimilarityGraph`, when
    the test built one) and ``labels`` (the boolean mask of the first sample) are kept for
    diagnostics and :func:`~methodzoo.graphrank.storage.save_ranks`; they are left out of
    :meth:`to_dict`.
    """

    statistic: float
    pvalue: float
    pvalue_asymptotic: float | None
    pvalue_permutation: float | None
    u: tuple[float, float]
    mean: tuple[float, float]
    covariance: tuple[tuple[float, float], tuple[float, float]]
    m: int
    n: int
    permutations: int
    options: dict[str, Any] = field(default_factory=dict)
    ranks: Any = field(default=None, repr=False, compare=False)
    graph: Any = field(default=None, repr=False, compare=False)
    labels: Any = field(default=None, repr=False, compare=False)

    @property
    def stat(self) -> float:
        """hyppo's name for :attr:`statistic`."""
        return self.statistic

    def __iter__(self) -> Any:
        return iter((self.statistic, self.pvalue))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the rank matrix)."""
        return {"statistic": self.statistic, "pvalue": self.pvalue,
                "pvalue_asymptotic": self.pvalue_asymptotic,
                "pvalue_permutation": self.pvalue_permutation, "u": list(self.u),
                "mean": list(self.mean), "covariance": [list(r) for r in self.covariance],
                "m": self.m, "n": self.n, "permutations": self.permutations, **self.options}


def as_rank_matrix(ranks: Any) -> sparse.csr_array:
    """Check a user rank matrix (dense or sparse, square, symmetric, finite); drop its diagonal."""
    # csr_array(a_csr) shares the caller's arrays; copy so setdiag / eliminate_zeros below never
    # reach back into the user's matrix.
    matrix = sparse.csr_array(ranks, dtype=np.float64, copy=True) if sparse.issparse(ranks) else None
    if matrix is None:
        dense = np.asarray(ranks, dtype=np.float64)
        if dense.ndim != 2:
            raise UserError(f"the rank matrix must be 2-D (N, N), got shape {dense.shape}")
        matrix = sparse.csr_array(dense)
    if matrix.shape[0] != matrix.shape[1]:
        raise UserError(f"the rank matrix must be square (N, N), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix.data)):
        raise UserError("the rank matrix contains NaN or infinite values")
    matrix.setdiag(0.0)
    matrix.eliminate_zeros()
    asymmetry = abs(matrix - matrix.T)
    scale = max(1.0, float(abs(matrix).max())) if matrix.nnz else 1.0
    if asymmetry.nnz and float(asymmetry.max()) > 1e-10 * scale:
        raise UserError("the rank matrix must be symmetric (R_ij = R_ji)")
    return matrix


def as_labels(labels: Any, n: int) -> np.ndarray:
    """Boolean (N,) mask of the first sample from a group vector over the pooled sample.

    Booleans: True marks the first sample. 0/1 values: 1 marks it. Any other vector with exactly
    two distinct values (strings, integers, ...): the smaller value in sorted order marks it.
    The statistic is symmetric in the two samples, so the choice only decides which is reported
    as m.
    """
    array = np.asarray(labels)
    if array.ndim != 1 or array.shape[0] != n:
        raise UserError(f"labels must be a 1-D array of length N = {n}, got shape {array.shape}")
    if array.dtype != bool:
        try:
            values = np.unique(array)
        except TypeError as error:
            raise UserError(f"labels must be one comparable type (all numbers or all strings): {error}") from error
        if values.shape[0] != 2 or (array.dtype.kind == "f" and np.isnan(values).any()):
            shown = ", ".join(repr(v) for v in values[:5].tolist())
            raise UserError(f"labels must take exactly two values, one per sample; got {values.shape[0]} "
                            f"distinct values ({shown}{', ...' if values.shape[0] > 5 else ''})")
        first = 1 if set(values.tolist()) == {0, 1} else values[0]
        array = array == first
    m = int(array.sum())
    if min(m, n - m) < MIN_SAMPLE:
        raise UserError(f"each sample needs at least {MIN_SAMPLE} observations, got m = {m}, n = {n - m}")
    return array


def rank_sums(ranks: sparse.csr_array) -> RankSums:
    """R₀ = Σ R_ij, A = Σ R_ij², B = Σ_i (Σ_j R_ij)² over i ≠ j (the diagonal must be zero)."""
    row_sums = np.asarray(ranks.sum(axis=1)).ravel()
    return RankSums(r0=float(row_sums.sum()), a=float((ranks.data ** 2).sum()),
                    b=float((row_sums ** 2).sum()))


def null_moments(sums: RankSums, m: int, n: int) -> NullMoments:
    """Exact mean and covariance of (U_x, U_y) under the permutation null (module docstring)."""
    big_n = m + n
    r0, a, b = sums.r0, sums.a, sums.b

    def falling(count: int, order: int) -> float:
        """count (count−1) … / (N (N−1) …), ``order`` factors: the chance that ``order`` fixed
        points all land in a sample of size ``count``."""
        value = 1.0
        for step in range(order):
            value *= (count - step) / (big_n - step)
        return value

    p2, p3, p4 = falling(m, 2), falling(m, 3), falling(m, 4)
    q2, q3, q4 = falling(n, 2), falling(n, 3), falling(n, 4)
    p_xy = m * (m - 1) * n * (n - 1) / (big_n * (big_n - 1) * (big_n - 2) * (big_n - 3))
    disjoint = 2 * a - 4 * b  # plus R₀², kept apart so R₀² (p₄ − p₂²) cancels before adding
    var_x = 2 * a * p2 + 4 * (b - a) * p3 + disjoint * p4 + r0 ** 2 * (p4 - p2 ** 2)
    var_y = 2 * a * q2 + 4 * (b - a) * q3 + disjoint * q4 + r0 ** 2 * (q4 - q2 ** 2)
    cov = disjoint * p_xy + r0 ** 2 * (p_xy - p2 * q2)
    return NullMoments(mean=np.array([p2 * r0, q2 * r0]),
                       covariance=np.array([[var_x, cov], [cov, var_y]]))


def within_sample_sums(ranks: sparse.csr_array, labels: np.ndarray) -> np.ndarray:
    """U = (U_x, U_y) for one labelling (N,) or for a batch (N, P) of labellings → (2,) or (2, P)."""
    x = labels.astype(np.float64)
    y = 1.0 - x
    u_x = np.einsum("i...,i...->...", x, ranks @ x)
    u_y = np.einsum("i...,i...->...", y, ranks @ y)
    return np.stack([u_x, u_y])


def quadratic_form(u: np.ndarray, moments: NullMoments) -> np.ndarray:
    """T = (U − μ)ᵀ Σ⁻¹ (U − μ) for U (2,) or (2, P)."""
    covariance = moments.covariance
    scale = float(np.abs(covariance).max())
    if not np.all(np.isfinite(covariance)) or scale <= 0:
        raise UserError("the null covariance of U is zero: the rank matrix is empty or constant")
    if np.linalg.cond(covariance / scale) > 1e12:
        raise UserError("the null covariance of (U_x, U_y) is singular for this rank matrix and "
                        "these sample sizes; the test is undefined (try another k or graph)")
    centred = (u.T - moments.mean).T  # (2,) or (2, P)
    solved = np.linalg.solve(covariance, centred)
    return np.einsum("i...,i...->...", centred, solved)


def permutation_statistics(ranks: sparse.csr_array, labels: np.ndarray, moments: NullMoments,
                           permutations: int, rng: np.random.Generator,
                           batch: int = 256) -> np.ndarray:
    """T for ``permutations`` uniform relabellings drawn from ``rng`` (in batches of ``batch``)."""
    out = np.empty(permutations)
    for start in range(0, permutations, batch):
        size = min(batch, permutations - start)
        shuffled = rng.permuted(np.tile(labels, (size, 1)), axis=1).T  # (N, size)
        out[start:start + size] = quadratic_form(within_sample_sums(ranks, shuffled), moments)
    return out


def permutation_pvalue(observed: float, simulated: np.ndarray) -> float:
    """(1 + #{T* ≥ T}) / (1 + P), with a relative tolerance so ties in T count as ≥."""
    tolerance = 1e-9 * max(1.0, abs(observed))
    return float((1 + np.count_nonzero(simulated >= observed - tolerance)) / (1 + simulated.shape[0]))


def rise_test_from_ranks(ranks: Any, labels: Any, *, permutations: int = 0,
                         generator: Any = None, small_sample: int = 30,
                         options: dict[str, Any] | None = None, strata: Any = None) -> RiseResult:
    """The RISE test for a given symmetric rank matrix ``ranks`` (N, N) and a group vector
    ``labels`` (N,) over the pooled sample (see :func:`as_labels`: booleans, 0/1, or any two
    values).

    Returns T, its asymptotic χ²₂ p-value, and with ``permutations > 0`` the permutation p-value
    (1 + #{T* ≥ T}) / (1 + P) from relabellings drawn with ``generator`` (int seed, NumPy or torch
    generator). Warns (:class:`SmallSampleWarning`) when min(m, n) < ``small_sample`` and no
    permutations are asked for.

    ``strata`` (N,), any stratum names: permute labels only within strata
    (:mod:`methodzoo.graphrank.stratified`); needs ``permutations > 0``.
    """
    from methodzoo.shared.seed import numpy_rng

    matrix = as_rank_matrix(ranks)
    mask = as_labels(labels, matrix.shape[0])
    if permutations < 0:
        raise UserError(f"permutations must be >= 0, got {permutations}")
    m = int(mask.sum())
    n = mask.shape[0] - m
    if strata is not None:
        return _stratified_test(matrix, mask, strata, permutations, numpy_rng(generator), options)
    if permutations == 0 and min(m, n) < small_sample:
        warnings.warn(f"min(m, n) = {min(m, n)} < {small_sample}: the chi-square approximation of "
                      "RISE is slightly liberal for small samples; pass permutations=... (e.g. 1000) "
                      "for an exact-size permutation p-value", SmallSampleWarning, stacklevel=2)
    moments = null_moments(rank_sums(matrix), m, n)
    u = within_sample_sums(matrix, mask)
    statistic = float(quadratic_form(u, moments))
    pvalue_asymptotic = float(stats.chi2.sf(statistic, 2))
    pvalue_permutation = None
    if permutations > 0:
        simulated = permutation_statistics(matrix, mask, moments, permutations, numpy_rng(generator))
        pvalue_permutation = permutation_pvalue(statistic, simulated)
    return _result(statistic, pvalue_asymptotic, pvalue_permutation, u, moments.mean, moments.covariance,
                   mask, permutations, options, matrix)


def _stratified_test(matrix: sparse.csr_array, mask: np.ndarray, strata: Any, permutations: int,
                     rng: np.random.Generator, options: dict[str, Any] | None) -> RiseResult:
    from methodzoo.graphrank.stratified import as_strata, stratified_statistics

    if permutations == 0:
        raise UserError("a stratified test needs permutations > 0 (e.g. 999): its null is the "
                        "within-stratum permutation distribution, which has no chi-square limit here")
    codes = as_strata(strata, mask)
    u, mean, covariance, statistics = stratified_statistics(matrix, mask, codes, permutations, rng)
    pvalue = permutation_pvalue(float(statistics[0]), statistics[1:])
    extra = {**(options or {}), "strata": int(codes.max()) + 1}
    return _result(float(statistics[0]), None, pvalue, u, mean, covariance, mask, permutations, extra, matrix)


def _result(statistic: float, pvalue_asymptotic: float | None, pvalue_permutation: float | None,
            u: np.ndarray, mean: np.ndarray, cov: np.ndarray, mask: np.ndarray, permutations: int,
            options: dict[str, Any] | None, matrix: sparse.csr_array) -> RiseResult:
    m = int(mask.sum())
    pvalue = pvalue_permutation if pvalue_permutation is not None else pvalue_asymptotic
    assert pvalue is not None
    return RiseResult(
        statistic=statistic, pvalue=pvalue,
        pvalue_asymptotic=pvalue_asymptotic, pvalue_permutation=pvalue_permutation,
        u=(float(u[0]), float(u[1])), mean=(float(mean[0]), float(mean[1])),
        covariance=((float(cov[0, 0]), float(cov[0, 1])), (float(cov[1, 0]), float(cov[1, 1]))),
        m=m, n=mask.shape[0] - m, permutations=permutations, options=dict(options or {}), ranks=matrix,
        labels=mask)
