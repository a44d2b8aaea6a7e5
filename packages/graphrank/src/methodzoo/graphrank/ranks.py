"""Graph-induced and overall ranks (Zhou & Chen, COLT 2023, Section 2), as sparse matrices.

Both are symmetric (N, N) ``scipy.sparse.csr_array`` with a zero diagonal and O(N·k) non-zeros.

* Graph-induced rank R^g: over nested graphs G_1 ⊂ … ⊂ G_k, R^g_ij = Σ_{l=1..k} 1{(i,j) ∈ G_l},
  i.e. an edge that first appears at level l gets k − l + 1 and a non-edge 0. The similarity
  graphs of the paper are undirected (as in Chen & Friedman's edge-count tests it builds on):
  {i, j} ∈ G_l when j is among i's l nearest neighbours *or* i among j's. With the directed
  level-ranks R_dir (R_dir_ij = k − l + 1 when j is i's l-th neighbour), that membership count is
  max(R_dir, R_dirᵀ): ``symmetrize="max"``, the default. ``"sum"`` (R_dir + R_dirᵀ, which counts
  a mutual pair from both ends) is kept as an option. The k-MST's edges are undirected, so no
  choice arises.
* Overall rank R^o: the rank of the similarity of each undirected edge of G_k among all edges of
  G_k, the most similar edge getting the largest rank |G_k|; off-graph entries are 0. Ties:
  ``"average"`` (equal similarities share their mean rank; invariant to relabelling the points)
  or ``"stable"`` (distinct ranks; among equal similarities the lexicographically lower (i, j)
  counts as more similar, matching the k-NN tie rule).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import sparse, stats

from methodzoo.graphrank.graphs import SimilarityGraph
from methodzoo.shared.errors import UserError


def _symmetric(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int) -> sparse.csr_array:
    matrix = sparse.coo_array((np.concatenate([values, values]),
                               (np.concatenate([rows, cols]), np.concatenate([cols, rows]))),
                              shape=(n, n)).tocsr()
    matrix.sum_duplicates()
    return matrix


def graph_induced_rank(graph: SimilarityGraph, *, symmetrize: Literal["sum", "max"] = "max") -> sparse.csr_array:
    """R^g of a :class:`~methodzoo.graphrank.graphs.SimilarityGraph`: level l ↦ k − l + 1."""
    n, k = graph.n, graph.k
    weight = (k - graph.level + 1).astype(np.float64)  # (E,)
    if not graph.directed:
        return _symmetric(graph.source, graph.target, weight, n)
    directed = sparse.coo_array((weight, (graph.source, graph.target)), shape=(n, n)).tocsr()
    if symmetrize == "sum":
        matrix = (directed + directed.T).tocsr()
    elif symmetrize == "max":
        matrix = directed.maximum(directed.T.tocsr()).tocsr()
    else:
        raise UserError(f"symmetrize must be 'sum' or 'max', got {symmetrize!r}")
    matrix.sort_indices()
    return matrix


def undirected_edges(graph: SimilarityGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct undirected edges ``(i < j)`` of G_k with their distance (the smaller of the
    two directions' values, which agree up to rounding)."""
    low = np.minimum(graph.source, graph.target)
    high = np.maximum(graph.source, graph.target)
    order = np.lexsort((graph.distance, high, low))  # by (i, j), then distance
    low, high, distance = low[order], high[order], graph.distance[order]
    first = np.ones(low.shape[0], dtype=bool)
    first[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
    return low[first], high[first], distance[first]


def overall_rank(graph: SimilarityGraph, *, ties: Literal["average", "stable"] = "average") -> sparse.csr_array:
    """R^o of a graph: rank of each edge's similarity among the |G_k| edges (most similar = |G_k|)."""
    i, j, distance = undirected_edges(graph)
    num_edges = i.shape[0]
    if ties == "average":
        ranks = stats.rankdata(-distance, method="average")  # similarity = -distance
    elif ties == "stable":
        order = np.lexsort((j, i, distance))  # ascending distance, then lower (i, j) first
        ranks = np.empty(num_edges, dtype=np.float64)
        ranks[order] = num_edges - np.arange(num_edges, dtype=np.float64)
    else:
        raise UserError(f"ties must be 'average' or 'stable', got {ties!r}")
    return _symmetric(i, j, np.asarray(ranks, dtype=np.float64), graph.n)


def adjacency(graph: SimilarityGraph) -> sparse.csr_array:
    """The 0/1 symmetric adjacency matrix of G_k (R for the generalized edge-count test)."""
    i, j, _ = undirected_edges(graph)
    return _symmetric(i, j, np.ones(i.shape[0]), graph.n)


def rank_matrix_of_graph(graph: SimilarityGraph, rank: Literal["graph", "overall"], *,
                         symmetrize: Literal["sum", "max"] = "max",
                         ties: Literal["average", "stable"] = "average") -> sparse.csr_array:
    """R^g or R^o of ``graph``."""
    if rank == "graph":
        return graph_induced_rank(graph, symmetrize=symmetrize)
    if rank == "overall":
        return overall_rank(graph, ties=ties)
    raise UserError(f"rank must be 'graph' or 'overall', got {rank!r}")
