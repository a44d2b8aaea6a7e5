"""Graphs and ranks: k-NN and k-MST against independent constructions, rank definitions, ties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse.csgraph import minimum_spanning_tree

from methodzoo.graphrank import (
    graph_induced_rank,
    graph_induced_ranks,
    kmst_graph,
    knn_graph_from_distances,
    overall_rank,
    overall_ranks,
    rank_matrix,
)
from methodzoo.graphrank.graphs import knn_graph_from_points, prim_minimum_spanning_forest
from methodzoo.shared.errors import UserError


def distance_matrix(points: np.ndarray) -> np.ndarray:
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    np.fill_diagonal(distances, np.inf)
    return distances


def test_knn_rank_by_hand_on_a_line() -> None:
    # Points 0, 1, 3, 7 on a line, k = 2: neighbours 0:(1,2) 1:(0,2) 2:(1,0) 3:(2,1).
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    graph = knn_graph_from_distances(distance_matrix(points), 2)
    directed = np.zeros((4, 4))
    for source, target, level in zip(graph.source, graph.target, graph.level, strict=True):
        directed[source, target] = 2 - level + 1
    expected_direct = np.array([[0, 2, 1, 0], [2, 0, 1, 0], [1, 2, 0, 0], [0, 1, 2, 0]], dtype=float)
    np.testing.assert_array_equal(directed, expected_direct)
    np.testing.assert_array_equal(graph_induced_rank(graph, symmetrize="sum").toarray(),
                                  expected_direct + expected_direct.T)
    np.testing.assert_array_equal(graph_induced_rank(graph, symmetrize="max").toarray(),
                                  np.maximum(expected_direct, expected_direct.T))
    # Overall rank: undirected edges {0,1}:1, {0,2}:3, {1,2}:2, {2,3}:4, {1,3}:6 -> most similar
    # (shortest) gets the largest rank 5.
    expected_overall = np.zeros((4, 4))
    for (i, j), r in {(0, 1): 5, (1, 2): 4, (0, 2): 3, (2, 3): 2, (1, 3): 1}.items():
        expected_overall[i, j] = expected_overall[j, i] = r
    np.testing.assert_array_equal(overall_rank(graph).toarray(), expected_overall)


def test_default_graph_rank_is_the_papers_count_over_undirected_nested_graphs() -> None:
    # The paper: R^g_ij = sum_{l=1..k} 1{(i,j) in G_l}, G_l the undirected l-NN graph ({i,j} is an
    # edge when either point is among the other's l nearest). Points 0, 1, 3, 7, k = 2, by hand:
    #   G_1 = {0,1} {1,2} {2,3}              (nearest: 0->1, 1->0, 3->1 is 2 from 3, 7->3)
    #   G_2 = G_1 + {0,2} {1,3}              (second: 0->3, 1->3, 3->0, 7->1)
    # so R_01 = R_12 = R_23 = 2, R_02 = R_13 = 1, R_03 = 0. "sum" would give R_01 = 4, R_12 = 3.
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    g1 = {(0, 1), (1, 2), (2, 3)}
    g2 = g1 | {(0, 2), (1, 3)}
    expected = np.zeros((4, 4))
    for nested in (g1, g2):
        for i, j in nested:
            expected[i, j] += 1
            expected[j, i] += 1
    np.testing.assert_array_equal(expected[[0, 1, 2, 0, 1, 0], [1, 2, 3, 2, 3, 3]], [2, 2, 2, 1, 1, 0])
    graph = knn_graph_from_distances(distance_matrix(points), 2)
    np.testing.assert_array_equal(graph_induced_rank(graph).toarray(), expected)
    np.testing.assert_array_equal(graph_induced_ranks(points, k=2).toarray(), expected)
    summed = graph_induced_ranks(points, k=2, symmetrize="sum").toarray()
    assert summed[0, 1] == 4 and summed[1, 2] == 3


def test_knn_from_points_equals_knn_from_distances() -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(120, 7))
    from_points = knn_graph_from_points(points, 6, block_rows=17)
    from_matrix = knn_graph_from_distances(distance_matrix(points), 6)
    np.testing.assert_array_equal(from_points.target, from_matrix.target)
    np.testing.assert_allclose(from_points.distance, from_matrix.distance, rtol=1e-9)


def test_graph_rank_counts_nested_graph_memberships() -> None:
    # R^g_ij = sum_l 1{(i,j) in G_l}: recount from the l-NN graphs built separately.
    rng = np.random.default_rng(1)
    points = rng.normal(size=(50, 3))
    distances = distance_matrix(points)
    k = 5
    directed = np.zeros((50, 50))
    undirected = np.zeros((50, 50))
    for level in range(1, k + 1):
        nested = knn_graph_from_distances(distances, level)
        edges = np.zeros((50, 50))
        edges[nested.source, nested.target] = 1
        directed += edges
        undirected += np.maximum(edges, edges.T)  # {i, j} in the undirected l-NN graph
    np.testing.assert_array_equal(graph_induced_ranks(points, k=k).toarray(), undirected)
    np.testing.assert_array_equal(graph_induced_ranks(points, k=k, symmetrize="sum").toarray(),
                                  directed + directed.T)


def test_prim_matches_scipy_mst_and_orthogonal_trees_are_disjoint() -> None:
    rng = np.random.default_rng(2)
    points = rng.normal(size=(40, 4))
    distances = distance_matrix(points)
    edges, weights = prim_minimum_spanning_forest(distances)
    finite = np.where(np.isfinite(distances), distances, 0.0)
    reference = minimum_spanning_tree(finite)
    assert edges.shape == (39, 2)
    assert weights.sum() == pytest.approx(reference.sum(), rel=1e-12)
    ours = {tuple(sorted(e)) for e in edges.tolist()}
    theirs = {tuple(sorted(e)) for e in zip(*reference.nonzero(), strict=True)}
    assert ours == theirs  # distinct weights: the MST is unique
    graph = kmst_graph(distances, 3)
    pairs = [tuple(sorted(e)) for e in zip(graph.source.tolist(), graph.target.tolist(), strict=True)]
    assert len(pairs) == len(set(pairs)) == 3 * 39
    # The second tree is the MST of the graph without the first tree's edges.
    remaining = finite.copy()
    for i, j in ours:
        remaining[i, j] = remaining[j, i] = 0.0
    second = {tuple(sorted(e)) for e in zip(*minimum_spanning_tree(remaining).nonzero(), strict=True)}
    assert {p for p, level in zip(pairs, graph.level.tolist(), strict=True) if level == 2} == second


def test_overall_rank_invariant_to_monotone_transform_and_graph_rank_to_distances() -> None:
    rng = np.random.default_rng(3)
    points = rng.normal(size=(60, 5))
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    transformed = np.exp(distances) - 1.0  # strictly increasing, 0 -> 0
    for graph in ("knn", "mst"):
        base = overall_ranks(distances, k=4, graph=graph, metric="precomputed")
        other = overall_ranks(transformed, k=4, graph=graph, metric="precomputed")
        assert (base != other).nnz == 0
        base_g = graph_induced_ranks(distances, k=4, graph=graph, metric="precomputed")
        other_g = graph_induced_ranks(transformed, k=4, graph=graph, metric="precomputed")
        assert (base_g != other_g).nnz == 0


def test_sparse_storage_is_order_n_k() -> None:
    rng = np.random.default_rng(4)
    points = rng.normal(size=(400, 10))
    for rank in ("graph", "overall"):
        ranks = rank_matrix(points, k=7, rank=rank)
        assert sparse.issparse(ranks)
        assert ranks.nnz <= 2 * 400 * 7
        assert (ranks != ranks.T).nnz == 0
        assert ranks.diagonal().sum() == 0


def test_ties_are_deterministic_and_follow_the_documented_rule() -> None:
    # A 1-D integer grid with duplicates: many equal distances.
    values = np.array([0, 1, 1, 2, 3, 3, 3, 5, 6, 6, 8, 9], dtype=float)[:, None]
    # Point 0 (at 0): distance 1 to points 1 and 2, distance 2 to point 3. k = 1 picks the lower index.
    assert knn_graph_from_points(values, 1).target[0] == 1
    # Duplicates at distance 0 are neighbours before anything else, lower index first.
    graph = knn_graph_from_points(values, 2)
    assert graph.target[4 * 2: 4 * 2 + 2].tolist() == [5, 6]
    first = rank_matrix(values, k=3)
    second = rank_matrix(values.copy(), k=3)
    assert (first != second).nnz == 0
    average = overall_ranks(values, k=3)
    stable = overall_ranks(values, k=3, ties="stable")
    # Equal similarities share their average rank; "stable" gives distinct ranks 1..|E| instead.
    i, j = average.nonzero()
    edge_distance = np.abs(values[i, 0] - values[j, 0])
    for d in np.unique(edge_distance):
        assert len(np.unique(average.toarray()[i[edge_distance == d], j[edge_distance == d]])) == 1
    upper = sparse.triu(stable, 1)
    assert sorted(upper.data.tolist()) == list(range(1, upper.nnz + 1))
    # Stable: among equal distances the lexicographically lower edge ranks as more similar.
    zero_edges = sorted(zip(*sparse.triu(stable, 1).nonzero(), strict=True))
    zero_edges = [e for e in zero_edges if values[e[0], 0] == values[e[1], 0]]
    stable_dense = stable.toarray()
    ranks_of_zero = [stable_dense[e] for e in zero_edges]
    assert ranks_of_zero == sorted(ranks_of_zero, reverse=True)


def test_rank_errors() -> None:
    points = np.random.default_rng(5).normal(size=(10, 2))
    with pytest.raises(UserError, match="k must be"):
        rank_matrix(points, k=10)
    with pytest.raises(UserError, match="N/2"):
        rank_matrix(points, k=6, graph="mst")
    with pytest.raises(UserError, match="symmetric"):
        rank_matrix(np.triu(np.ones((10, 10))), k=2, metric="precomputed")
    with pytest.raises(UserError, match="non-negative"):
        rank_matrix(-np.ones((10, 10)), k=2, metric="precomputed")
    with pytest.raises(UserError, match="metric"):
        rank_matrix(points, k=2, metric="no-such-metric")
