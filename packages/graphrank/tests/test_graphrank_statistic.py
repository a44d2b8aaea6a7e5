"""The RISE statistic: exact moments (enumeration, Monte Carlo), the edge-count reduction,
invariances and input checks."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy import sparse, stats

from methodzoo.graphrank import (
    SmallSampleWarning,
    adjacency,
    knn_graph_from_distances,
    null_moments,
    rank_sums,
    rise_test_from_ranks,
)
from methodzoo.graphrank.statistic import permutation_pvalue, quadratic_form, within_sample_sums
from methodzoo.shared.errors import UserError

pytestmark = pytest.mark.filterwarnings("ignore::methodzoo.graphrank.SmallSampleWarning")


def random_symmetric(n: int, rng: np.random.Generator, density: float = 0.6) -> np.ndarray:
    values = rng.integers(0, 5, size=(n, n)).astype(float) * (rng.random((n, n)) < density)
    matrix = np.triu(values, 1)
    return matrix + matrix.T


def u_by_loops(ranks: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """U_x, U_y straight from the definition (ordered pairs i != j)."""
    n = len(labels)
    u_x = sum(ranks[i, j] for i in range(n) for j in range(n) if i != j and labels[i] and labels[j])
    u_y = sum(ranks[i, j] for i in range(n) for j in range(n) if i != j and not labels[i] and not labels[j])
    return u_x, u_y


def all_labellings(n: int, m: int) -> np.ndarray:
    rows = []
    for chosen in itertools.combinations(range(n), m):
        labels = np.zeros(n, dtype=bool)
        labels[list(chosen)] = True
        rows.append(labels)
    return np.array(rows)


@pytest.mark.parametrize(("n", "m"), [(8, 4), (9, 4), (10, 6)])
def test_moments_equal_full_enumeration(n: int, m: int) -> None:
    rng = np.random.default_rng(n * 10 + m)
    ranks = random_symmetric(n, rng)
    labellings = all_labellings(n, m)
    u = np.array([u_by_loops(ranks, labels) for labels in labellings])  # (C(n, m), 2)
    moments = null_moments(rank_sums(sparse.csr_array(ranks)), m, n - m)
    np.testing.assert_allclose(moments.mean, u.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(moments.covariance, np.cov(u.T, bias=True), rtol=1e-10, atol=1e-8)
    # E T = tr(Σ^{-1} Σ) = 2 exactly under the permutation distribution.
    t = quadratic_form(u.T, moments)
    assert t.mean() == pytest.approx(2.0, abs=1e-10)
    # The vectorised U agrees with the loops.
    np.testing.assert_allclose(within_sample_sums(sparse.csr_array(ranks), labellings.T), u.T)


def test_moments_agree_with_monte_carlo_on_a_knn_rank_matrix() -> None:
    from methodzoo.graphrank import rank_matrix

    rng = np.random.default_rng(5)
    points = rng.normal(size=(100, 20))
    ranks = rank_matrix(points, k=5)
    labels = np.zeros(100, dtype=bool)
    labels[:40] = True
    draws = 20_000
    shuffled = rng.permuted(np.tile(labels, (draws, 1)), axis=1).T  # (N, draws)
    u = within_sample_sums(ranks, shuffled)  # (2, draws)
    moments = null_moments(rank_sums(ranks), 40, 60)
    standard_error = np.sqrt(np.diag(moments.covariance) / draws)
    assert np.all(np.abs(u.mean(axis=1) - moments.mean) < 4.5 * standard_error)
    empirical = np.cov(u)
    # Sample (co)variances over 20k draws: a few percent relative error at most.
    np.testing.assert_allclose(np.diag(empirical), np.diag(moments.covariance), rtol=0.06)
    correlation = moments.covariance[0, 1] / np.sqrt(moments.covariance[0, 0] * moments.covariance[1, 1])
    empirical_corr = empirical[0, 1] / np.sqrt(empirical[0, 0] * empirical[1, 1])
    assert abs(correlation - empirical_corr) < 0.03


def generalized_edge_count(edges: list[tuple[int, int]], labels: np.ndarray) -> float:
    """Chen & Friedman (2017) generalized edge-count statistic from an undirected edge list,
    with their edge-based moments (|G|, C = number of pairs of edges sharing a node)."""
    n_total = len(labels)
    m = int(labels.sum())
    n = n_total - m
    size = len(edges)
    degree = np.zeros(n_total)
    for i, j in edges:
        degree[i] += 1
        degree[j] += 1
    pairs_sharing = float((degree * (degree - 1) / 2).sum())
    r1 = sum(1 for i, j in edges if labels[i] and labels[j])
    r2 = sum(1 for i, j in edges if not labels[i] and not labels[j])

    def p(count: int, order: int) -> float:
        return float(np.prod([(count - s) / (n_total - s) for s in range(order)]))

    mu1, mu2 = size * p(m, 2), size * p(n, 2)
    var1 = size * p(m, 2) + 2 * pairs_sharing * p(m, 3) + (size * (size - 1) - 2 * pairs_sharing) * p(m, 4) - mu1 ** 2
    var2 = size * p(n, 2) + 2 * pairs_sharing * p(n, 3) + (size * (size - 1) - 2 * pairs_sharing) * p(n, 4) - mu2 ** 2
    p_xy = m * (m - 1) * n * (n - 1) / (n_total * (n_total - 1) * (n_total - 2) * (n_total - 3))
    cov = (size * (size - 1) - 2 * pairs_sharing) * p_xy - mu1 * mu2
    sigma = np.array([[var1, cov], [cov, var2]])
    diff = np.array([r1 - mu1, r2 - mu2])
    return float(diff @ np.linalg.solve(sigma, diff))


def test_adjacency_reduces_to_generalized_edge_count() -> None:
    rng = np.random.default_rng(7)
    points = np.concatenate([rng.normal(size=(30, 4)), rng.normal(size=(25, 4)) * 1.3])
    labels = np.arange(55) < 30
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    graph = knn_graph_from_distances(distances, 4)
    matrix = adjacency(graph)
    upper = sparse.triu(matrix, 1).tocoo()
    edges = list(zip(upper.row.tolist(), upper.col.tolist(), strict=True))
    expected = generalized_edge_count(edges, labels)
    result = rise_test_from_ranks(matrix, labels)
    assert result.statistic == pytest.approx(expected, rel=1e-9)
    assert result.pvalue == pytest.approx(stats.chi2.sf(expected, 2), rel=1e-7)


def test_swap_and_relabel_invariance() -> None:
    rng = np.random.default_rng(8)
    ranks = random_symmetric(40, rng)
    labels = np.arange(40) < 18
    base = rise_test_from_ranks(ranks, labels)
    swapped = rise_test_from_ranks(ranks, ~labels)
    assert swapped.statistic == pytest.approx(base.statistic, rel=1e-10)
    order = rng.permutation(40)
    relabelled = rise_test_from_ranks(ranks[np.ix_(order, order)], labels[order])
    assert relabelled.statistic == pytest.approx(base.statistic, rel=1e-10)


def test_dense_and_sparse_and_diagonal_give_the_same_result() -> None:
    rng = np.random.default_rng(9)
    ranks = random_symmetric(30, rng)
    labels = np.arange(30) % 2 == 0
    dense = rise_test_from_ranks(ranks, labels)
    sparse_result = rise_test_from_ranks(sparse.csr_array(ranks), labels.astype(int))
    with_diagonal = ranks + np.diag(np.arange(30.0))  # the diagonal is ignored (sums over i != j)
    assert sparse_result.statistic == pytest.approx(dense.statistic, rel=1e-12)
    assert rise_test_from_ranks(with_diagonal, labels).statistic == pytest.approx(dense.statistic, rel=1e-12)


def test_permutation_pvalue_is_reproducible_and_consistent() -> None:
    rng = np.random.default_rng(10)
    ranks = random_symmetric(40, rng)
    labels = np.arange(40) < 20
    first = rise_test_from_ranks(ranks, labels, permutations=300, generator=3)
    second = rise_test_from_ranks(ranks, labels, permutations=300, generator=np.random.default_rng(3))
    other = rise_test_from_ranks(ranks, labels, permutations=300, generator=4)
    assert first.pvalue_permutation == second.pvalue_permutation
    assert first.pvalue == first.pvalue_permutation
    assert other.pvalue_permutation is not None and first.pvalue_permutation is not None
    # Both estimate the same p-value; 300 draws give a standard error below 0.03.
    assert abs(other.pvalue_permutation - first.pvalue_permutation) < 0.15
    assert 1 / 301 <= first.pvalue_permutation <= 1.0
    assert permutation_pvalue(5.0, np.array([1.0, 5.0, 6.0])) == pytest.approx(3 / 4)


def test_permutation_pvalue_detects_a_difference() -> None:
    rng = np.random.default_rng(11)
    from methodzoo.graphrank import rank_matrix

    points = np.concatenate([rng.normal(size=(30, 3)), rng.normal(size=(30, 3)) * 3.0])
    result = rise_test_from_ranks(rank_matrix(points, k=5), np.arange(60) < 30, permutations=199,
                                  generator=0)
    assert result.pvalue_permutation == pytest.approx(1 / 200)
    assert result.pvalue_asymptotic < 1e-4


def test_small_sample_warning() -> None:
    rng = np.random.default_rng(12)
    ranks = random_symmetric(20, rng)
    labels = np.arange(20) < 10
    with pytest.warns(SmallSampleWarning, match="permutations"):
        rise_test_from_ranks(ranks, labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rise_test_from_ranks(ranks, labels, permutations=50, generator=0)


@pytest.mark.parametrize(
    ("ranks", "labels", "message"),
    [
        (np.ones((5, 4)), np.ones(5, dtype=bool), "square"),
        (np.triu(np.ones((8, 8)), 1), np.arange(8) < 4, "symmetric"),
        (np.full((8, 8), np.nan), np.arange(8) < 4, "NaN"),
        (np.ones((8, 8)), np.arange(7) < 4, "length"),
        (np.ones((8, 8)), np.arange(8) < 3, "at least 4"),
        (np.ones((8, 8)), np.arange(8) % 3, "exactly two values"),
        (np.zeros((8, 8)), np.arange(8) < 4, "empty or constant"),
    ],
)
def test_bad_inputs_raise_clear_errors(ranks: np.ndarray, labels: np.ndarray, message: str) -> None:
    with pytest.raises(UserError, match=message):
        rise_test_from_ranks(ranks, labels, small_sample=0)


@pytest.mark.parametrize("kind", ["csr", "csr_int", "coo", "csr_matrix"])
def test_the_callers_rank_matrix_is_never_modified(kind: str) -> None:
    # Regression: csr_array(R) shares the caller's arrays, and setdiag(0) / eliminate_zeros then
    # wiped the user's diagonal in place.
    rng = np.random.default_rng(21)
    dense = random_symmetric(20, rng) + np.diag(np.arange(1.0, 21.0))
    make = {"csr": lambda a: sparse.csr_array(a), "csr_int": lambda a: sparse.csr_array(a.astype(np.int64)),
            "coo": lambda a: sparse.coo_array(a), "csr_matrix": lambda a: sparse.csr_matrix(a)}[kind]
    ranks = make(dense)
    before_dense, before_nnz = ranks.toarray().copy(), ranks.nnz
    before_data = ranks.data.copy()
    result = rise_test_from_ranks(ranks, np.arange(20) < 10)
    assert ranks.nnz == before_nnz
    np.testing.assert_array_equal(ranks.data, before_data)
    np.testing.assert_array_equal(ranks.toarray(), before_dense)
    np.testing.assert_array_equal(ranks.diagonal(), np.arange(1.0, 21.0))
    assert result.ranks.diagonal().sum() == 0  # the test's own copy has the diagonal dropped


def test_group_vectors_of_any_two_values_give_the_same_test() -> None:
    rng = np.random.default_rng(22)
    ranks = random_symmetric(30, rng)
    mask = rng.permutation(np.arange(30) < 12)
    reference = rise_test_from_ranks(ranks, mask)
    names = np.where(mask, "case", "control")  # "case" sorts first: it is the first sample
    for labels in (names, names.tolist(), mask.astype(int), np.where(mask, 1.0, 0.0), np.where(mask, 3, 7)):
        result = rise_test_from_ranks(ranks, labels)
        assert result.statistic == pytest.approx(reference.statistic, rel=1e-12)
        assert (result.m, result.n) == (12, 18)
    swapped = rise_test_from_ranks(ranks, np.where(mask, "x", "a"))  # now the other group is first
    assert swapped.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert (swapped.m, swapped.n) == (18, 12)
