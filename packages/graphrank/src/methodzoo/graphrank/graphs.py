"""Similarity graphs on the pooled sample (Zhou & Chen, COLT 2023, Section 2).

A graph is stored as a list of edges with a *level*: for the k-NN graph the directed edge
``i → j`` has level ``l`` when ``j`` is the l-th nearest neighbour of ``i`` (so the edges of level
≤ l form the l-NN graph, and G_1 ⊂ … ⊂ G_k); for the k-MST the undirected edge ``{i, j}`` has
level ``l`` when it belongs to the l-th of k successive ("orthogonal") minimum spanning trees,
each computed after removing the edges of the previous ones.

Distances come from one of three sources, all reduced to "smaller is more similar":

* Euclidean points: the blocked k-NN search of ``methodzoo.shared.kernels.knn`` (never N × N);
  the k-MST needs all pairwise distances, so it builds the dense (N, N) matrix;
* a precomputed distance matrix, or a similarity matrix S (used as −S);
* a callable ``metric(a, b) -> (len(a), len(b))`` distances, or a SciPy ``cdist`` metric name.

Tie rule (deterministic, documented): among equal distances the lower index is treated as
closer. For the k-NN graph this decides which neighbours enter and their order; for the MST,
Prim's algorithm (started at vertex 0) adds, among equal keys, the lowest vertex first, and a
vertex keeps the earliest tree vertex that reached its smallest distance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from methodzoo.shared.errors import UserError

Metric = str | Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SimilarityGraph:
    """Edges ``(source, target)`` with their ``level`` (1..k) and ``distance`` (smaller = closer).

    ``directed`` is True for the k-NN graph (``i → j``: j is among i's neighbours) and False for
    the k-MST (each undirected edge listed once, ``source < target`` not required).
    """

    n: int
    k: int
    kind: Literal["knn", "mst"]
    source: np.ndarray  # (E,) int64
    target: np.ndarray  # (E,) int64
    level: np.ndarray  # (E,) int64 in 1..k
    distance: np.ndarray  # (E,) float64
    directed: bool

    @property
    def num_edges(self) -> int:
        return int(self.source.shape[0])


@dataclass(frozen=True)
class PooledData:
    """The pooled sample as points (Euclidean k-NN path) or as a dense (N, N) distance matrix."""

    points: np.ndarray | None  # (N, d) or None
    distances: np.ndarray | None  # (N, N) or None, diagonal ignored

    @property
    def n(self) -> int:
        array = self.points if self.points is not None else self.distances
        assert array is not None
        return int(array.shape[0])


def _finite(array: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(array)):
        raise UserError(f"{what} contains NaN or infinite values")


# SciPy ``cdist`` metrics that take real-valued points, and scikit-learn's aliases for three of them.
SCIPY_METRICS = ("braycurtis", "canberra", "chebyshev", "cityblock", "correlation", "cosine", "euclidean",
                 "jensenshannon", "mahalanobis", "minkowski", "seuclidean", "sqeuclidean", "dice", "hamming",
                 "jaccard", "kulczynski1", "rogerstanimoto", "russellrao", "sokalmichener", "sokalsneath", "yule")
METRIC_ALIASES = {"manhattan": "cityblock", "l1": "cityblock", "l2": "euclidean"}
# Metrics that order neighbours exactly as the Euclidean distance does: the k-NN graph and both
# ranks depend only on that order, so they take the blocked Euclidean search (never N × N).
EUCLIDEAN_ORDER = ("euclidean", "sqeuclidean")
METRIC_NAMES = tuple(sorted(SCIPY_METRICS + tuple(METRIC_ALIASES)))


def resolve_metric(metric: Metric) -> Metric:
    """The SciPy name of a metric name (aliases resolved), or the callable unchanged."""
    if callable(metric):
        return metric
    name = METRIC_ALIASES.get(metric, metric)
    if name not in SCIPY_METRICS:
        raise UserError(f"unknown metric {metric!r}; use one of {', '.join(METRIC_NAMES)}, a callable, "
                        "'precomputed' (a distance matrix) or 'similarity' (a similarity matrix)")
    return name


def as_matrix(matrix: object, *, kind: Literal["distance", "similarity"]) -> np.ndarray:
    """Check a precomputed (N, N) matrix and return it as float64 distances (−S for a similarity),
    diagonal set to +inf.

    Checked: dense, square, every entry finite, symmetric; a distance matrix also non-negative
    with a zero diagonal. The caller's array is never modified.
    """
    if hasattr(matrix, "toarray"):
        raise UserError(f"a precomputed {kind} matrix must be dense (all pairs); got a sparse matrix")
    array = np.asarray(matrix, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise UserError(f"a precomputed {kind} matrix must be square (N, N), got shape {array.shape}")
    _finite(array, f"the {kind} matrix")
    off_diagonal = ~np.eye(array.shape[0], dtype=bool)
    scale = max(1.0, float(np.abs(array[off_diagonal]).max(initial=0.0)))
    if not np.allclose(array, array.T, rtol=0.0, atol=1e-10 * scale):
        raise UserError(f"the {kind} matrix must be symmetric")
    if kind == "distance":
        if np.any(array[off_diagonal] < 0):
            raise UserError("a distance matrix must be non-negative (pass a similarity matrix as "
                            "metric='similarity' / --similarities)")
        worst = float(np.abs(np.diag(array)).max(initial=0.0))
        if worst > 1e-10 * scale:
            raise UserError(f"a distance matrix must have a zero diagonal (d(i, i) = 0); the largest "
                            f"|d(i, i)| is {worst:.3g}")
    distances = -array if kind == "similarity" else array.copy()
    np.fill_diagonal(distances, np.inf)
    return distances


def pairwise_distances(points: np.ndarray, metric: Metric) -> np.ndarray:
    """Dense (N, N) distances with ``metric`` (a SciPy name or a callable); diagonal set to +inf."""
    metric = resolve_metric(metric)
    if callable(metric):
        distances = np.asarray(metric(points, points), dtype=np.float64)
        if distances.shape != (points.shape[0], points.shape[0]):
            raise UserError(f"the metric callable must return a ({points.shape[0]}, {points.shape[0]}) "
                            f"matrix, got shape {distances.shape}")
        return as_matrix(distances, kind="distance")
    from scipy.spatial.distance import cdist

    try:
        with np.errstate(invalid="ignore", divide="ignore"):
            distances = cdist(points, points, metric=metric)
    except (ValueError, np.linalg.LinAlgError) as error:
        raise UserError(f"metric {metric!r} cannot be used on these data: {error}") from error
    if not np.all(np.isfinite(distances)):
        raise UserError(f"metric {metric!r} gives NaN or infinite distances on these data "
                        "(e.g. 'correlation' or 'cosine' with a constant or all-zero row)")
    np.fill_diagonal(distances, 0.0)  # rounding in e.g. 'correlation' can leave 1e-16 there
    return as_matrix(distances, kind="distance")


def knn_graph_from_points(points: np.ndarray, k: int, *, precision: str = "float64",
                          device: str = "cpu", block_rows: int = 1024) -> SimilarityGraph:
    """The directed k-NN graph of Euclidean ``points`` (N, d) through the core's blocked search."""
    import torch

    from methodzoo.shared.device import resolve_device
    from methodzoo.shared.kernels.knn import knn

    n = points.shape[0]
    if not 1 <= k <= n - 1:
        raise UserError(f"k must be in [1, N-1] = [1, {n - 1}], got {k}")
    dtype = torch.float64 if precision == "float64" else torch.float32
    tensor = torch.as_tensor(points, dtype=dtype).to(resolve_device(device))
    result = knn(tensor, k, block_rows=block_rows)
    neighbours = result.indices.cpu().numpy()  # (N, k)
    distances = result.distances.cpu().to(torch.float64).numpy()  # (N, k)
    return _knn_edges(neighbours, distances, k)


def knn_graph_from_distances(distances: np.ndarray, k: int) -> SimilarityGraph:
    """The directed k-NN graph from a dense (N, N) distance matrix (diagonal +inf), tie rule applied."""
    n = distances.shape[0]
    if not 1 <= k <= n - 1:
        raise UserError(f"k must be in [1, N-1] = [1, {n - 1}], got {k}")
    # A stable sort keeps equal distances in index order: the lower index wins.
    neighbours = np.argsort(distances, axis=1, kind="stable")[:, :k]  # (N, k)
    return _knn_edges(neighbours, np.take_along_axis(distances, neighbours, axis=1), k)


def _knn_edges(neighbours: np.ndarray, distances: np.ndarray, k: int) -> SimilarityGraph:
    n = neighbours.shape[0]
    source = np.repeat(np.arange(n, dtype=np.int64), k)  # (N*k,)
    level = np.tile(np.arange(1, k + 1, dtype=np.int64), n)  # (N*k,)
    return SimilarityGraph(n=n, k=k, kind="knn", source=source,
                           target=neighbours.reshape(-1).astype(np.int64), level=level,
                           distance=distances.reshape(-1).astype(np.float64), directed=True)


def prim_minimum_spanning_forest(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum spanning forest of a dense (N, N) matrix where +inf means "no edge".

    Prim's algorithm from vertex 0, O(N²) time; returns ``(edges (E, 2), weights (E,))``. Ties:
    the lowest-index vertex among equal keys joins first; a vertex's parent is the earliest tree
    vertex that reached its smallest distance. A new tree starts at the lowest unreached vertex.
    """
    n = distances.shape[0]
    in_tree = np.zeros(n, dtype=bool)
    key = np.full(n, np.inf)
    parent = np.full(n, -1, dtype=np.int64)
    edges: list[tuple[int, int]] = []
    weights: list[float] = []
    for _ in range(n):
        candidate = np.where(in_tree, np.inf, key)
        vertex = int(np.argmin(candidate))  # first minimum: the lowest index wins
        if not np.isfinite(candidate[vertex]):
            vertex = int(np.flatnonzero(~in_tree)[0])
        else:
            edges.append((int(parent[vertex]), vertex))
            weights.append(float(key[vertex]))
        in_tree[vertex] = True
        row = distances[vertex]
        improve = ~in_tree & (row < key)  # strict: ties keep the earlier parent
        key[improve] = row[improve]
        parent[improve] = vertex
    return np.asarray(edges, dtype=np.int64).reshape(-1, 2), np.asarray(weights, dtype=np.float64)


def kmst_graph(distances: np.ndarray, k: int) -> SimilarityGraph:
    """The k-MST: the union of k successive minimum spanning trees (each on the graph with the
    previous trees' edges removed). Edges of the l-th tree get level l."""
    n = distances.shape[0]
    if not 1 <= k <= n // 2:
        raise UserError(f"for graph='mst', k must be in [1, N/2] = [1, {n // 2}] (k disjoint spanning "
                        f"trees need k(N-1) <= N(N-1)/2 edges), got {k}")
    remaining = distances.copy()
    np.fill_diagonal(remaining, np.inf)
    sources, targets, levels, weights = [], [], [], []
    for level in range(1, k + 1):
        edges, w = prim_minimum_spanning_forest(remaining)
        remaining[edges[:, 0], edges[:, 1]] = np.inf
        remaining[edges[:, 1], edges[:, 0]] = np.inf
        sources.append(edges[:, 0])
        targets.append(edges[:, 1])
        levels.append(np.full(edges.shape[0], level, dtype=np.int64))
        weights.append(w)
    return SimilarityGraph(n=n, k=k, kind="mst", source=np.concatenate(sources),
                           target=np.concatenate(targets), level=np.concatenate(levels),
                           distance=np.concatenate(weights), directed=False)


def build_graph(data: PooledData, k: int, graph: Literal["knn", "mst"], *, precision: str = "float64",
                device: str = "cpu", block_rows: int = 1024) -> SimilarityGraph:
    """The k-NN graph or the k-MST of the pooled data."""
    if graph == "knn":
        if data.points is not None:
            return knn_graph_from_points(data.points, k, precision=precision, device=device,
                                         block_rows=block_rows)
        assert data.distances is not None
        return knn_graph_from_distances(data.distances, k)
    if graph == "mst":
        distances = data.distances
        if distances is None:
            assert data.points is not None
            distances = pairwise_distances(data.points, "euclidean")
        return kmst_graph(distances, k)
    raise UserError(f"graph must be 'knn' or 'mst', got {graph!r}")
