"""RISE: the rank-in-similarity-graph-edge-count two-sample test (Zhou & Chen, COLT 2023).

:class:`RISE` runs the paper's pipeline as overridable, paper-named steps:

1. :meth:`RISE.pool` — pool X (m, d) and Y (n, d) into Z (N, d) with labels, or take one pooled
   sample (points, or a precomputed (N, N) distance / similarity matrix) with a group vector;
2. :meth:`RISE.build_graph` — the similarity graph G_k (k-NN graph or k-MST);
3. :meth:`RISE.compute_ranks` — R^g or R^o on G_k (Section 2);
4. :meth:`RISE.compute_test` — U = (U_x, U_y), exact permutation moments, T and p-values
   (Section 3; :mod:`methodzoo.graphrank.statistic`).

:func:`rise_test` is the one-call verb; :func:`rank_matrix` returns the ranks alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from typing import Any, Literal

import numpy as np
from scipy import sparse

from methodzoo.graphrank.config import RiseConfig
from methodzoo.graphrank.graphs import (
    EUCLIDEAN_ORDER,
    Metric,
    PooledData,
    SimilarityGraph,
    as_matrix,
    build_graph,
    pairwise_distances,
    resolve_metric,
)
from methodzoo.graphrank.ranks import rank_matrix_of_graph
from methodzoo.graphrank.statistic import MIN_SAMPLE, RiseResult, as_labels, rise_test_from_ranks
from methodzoo.shared.errors import UserError

PRECOMPUTED = ("precomputed", "similarity")


def _as_points(array: Any, name: str) -> np.ndarray:
    points = np.asarray(array, dtype=np.float64)
    if points.ndim == 1:
        points = points[:, None]  # univariate data: one feature
    if points.ndim != 2:
        raise UserError(f"{name} must be a 2-D array (observations, features), got shape {points.shape}")
    if not np.all(np.isfinite(points)):
        raise UserError(f"{name} contains NaN or infinite values")
    if points.shape[0] < MIN_SAMPLE:
        raise UserError(f"{name} needs at least {MIN_SAMPLE} observations, got {points.shape[0]}")
    return points


class RISE:
    """The RISE two-sample test with a fixed :class:`RiseConfig`; hyppo-style ``.test(x, y)``.

    Subclass and override one step (e.g. :meth:`compute_ranks` for a new rank) to make a variant.
    """

    def __init__(self, config: RiseConfig | None = None, **options: Any) -> None:
        base = config or RiseConfig()
        self.config = replace(base, **options) if options else base

    # ----- step 1 -------------------------------------------------------------------------------
    def pool(self, x: Any, y: Any, metric: Metric) -> tuple[PooledData, np.ndarray]:
        """Pooled data and the (N,) label mask of the first sample.

        ``metric="euclidean"`` (or ``"sqeuclidean"``/``"l2"``, which order neighbours alike)
        keeps points for the blocked k-NN search; another SciPy metric name or a callable builds
        a dense distance matrix; ``"precomputed"`` / ``"similarity"`` read ``x`` as an (N, N)
        distance / similarity matrix and ``y`` as the group vector.
        """
        if isinstance(metric, str) and metric in PRECOMPUTED:
            return self.pool_labelled(x, y, metric)
        x_points, y_points = _as_points(x, "x"), _as_points(y, "y")
        if x_points.shape[1] != y_points.shape[1]:
            raise UserError(f"x and y must have the same number of features, got "
                            f"{x_points.shape[1]} and {y_points.shape[1]}")
        pooled = np.concatenate([x_points, y_points])  # (N, d), first m rows are X
        labels = np.zeros(pooled.shape[0], dtype=bool)
        labels[: x_points.shape[0]] = True
        return self._pooled_points(pooled, metric), labels

    def pool_labelled(self, z: Any, labels: Any, metric: Metric) -> tuple[PooledData, np.ndarray]:
        """One pooled sample ``z`` — points (N, d), or an (N, N) matrix when ``metric`` is
        ``"precomputed"`` / ``"similarity"`` — with a group vector ``labels`` (N,)."""
        if isinstance(metric, str) and metric in PRECOMPUTED:
            kind: Literal["distance", "similarity"] = "distance" if metric == "precomputed" else "similarity"
            data = PooledData(points=None, distances=as_matrix(z, kind=kind))
        else:
            data = self._pooled_points(_as_points(z, "the pooled sample"), metric)
        return data, as_labels(labels, data.n)

    @staticmethod
    def _pooled_points(points: np.ndarray, metric: Metric) -> PooledData:
        metric = resolve_metric(metric)
        if isinstance(metric, str) and metric in EUCLIDEAN_ORDER:
            return PooledData(points=points, distances=None)
        return PooledData(points=None, distances=pairwise_distances(points, metric))

    # ----- step 2 -------------------------------------------------------------------------------
    def build_graph(self, data: PooledData) -> SimilarityGraph:
        """G_k: the k-NN graph (levels = neighbour order) or the k-MST (levels = tree order)."""
        c = self.config
        if c.k > data.n - 1:
            raise UserError(f"k must be smaller than the pooled sample size N = {data.n}, got k = {c.k}")
        return build_graph(data, c.k, c.graph, precision=c.precision, device=c.device,
                           block_rows=c.block_rows)

    # ----- step 3 -------------------------------------------------------------------------------
    def compute_ranks(self, graph: SimilarityGraph) -> sparse.csr_array:
        """R^g (``rank="graph"``) or R^o (``rank="overall"``) on G_k, symmetric and sparse."""
        c = self.config
        return rank_matrix_of_graph(graph, c.rank, symmetrize=c.symmetrize, ties=c.ties)

    # ----- step 4 -------------------------------------------------------------------------------
    def compute_test(self, ranks: sparse.csr_array, labels: np.ndarray, *, permutations: int,
                     generator: Any, strata: Any = None) -> RiseResult:
        """T = (U − μ)ᵀ Σ⁻¹ (U − μ) with the exact permutation moments; χ²₂ and permutation p.
        With ``strata``: permutations within strata and their Monte Carlo moments."""
        c = self.config
        options = {"k": c.k, "rank": c.rank, "graph": c.graph}
        if c.rank == "graph" and c.graph == "knn":
            options["symmetrize"] = c.symmetrize
        return rise_test_from_ranks(ranks, labels, permutations=permutations, generator=generator,
                                    small_sample=c.small_sample, options=options, strata=strata)

    # ----- verbs --------------------------------------------------------------------------------
    def ranks(self, x: Any, y: Any = None, *, metric: Metric = "euclidean") -> sparse.csr_array:
        """The rank matrix of the pooled sample (see :func:`rank_matrix`)."""
        data = self._pool_any(x, y, metric)
        return self.compute_ranks(self.build_graph(data))

    def test(self, x: Any, y: Any = None, *, labels: Any = None, metric: Metric = "euclidean",
             permutations: int | None = None, generator: Any = None, strata: Any = None) -> RiseResult:
        """Run the test on samples ``x`` (m, d) and ``y`` (n, d); or on one pooled sample ``x``
        with a group vector ``labels`` (N,); or on a precomputed matrix ``x`` with the group
        vector as ``y`` or ``labels`` when ``metric`` is ``"precomputed"`` or ``"similarity"``.

        ``strata`` (N,): permute labels only within strata (needs permutations). The result keeps
        the graph, the rank matrix and the labels (``.graph``, ``.ranks``, ``.labels``).
        """
        if labels is not None:
            if y is not None:
                raise UserError("pass either a second sample y or labels for one pooled sample, not both")
            data, mask = self.pool_labelled(x, labels, metric)
        else:
            if y is None:
                raise UserError("pass a second sample y, or labels (N,) for the pooled sample x")
            data, mask = self.pool(x, y, metric)
        graph = self.build_graph(data)
        ranks = self.compute_ranks(graph)
        perms = self.config.permutations if permutations is None else permutations
        result = self.compute_test(ranks, mask, permutations=perms, generator=generator, strata=strata)
        return dataclasses.replace(result, graph=graph)

    def _pool_any(self, x: Any, y: Any, metric: Metric) -> PooledData:
        if isinstance(metric, str) and metric in PRECOMPUTED:
            kind: Literal["distance", "similarity"] = "distance" if metric == "precomputed" else "similarity"
            return PooledData(points=None, distances=as_matrix(x, kind=kind))
        if y is not None:
            return self.pool(x, y, metric)[0]
        return self._pooled_points(_as_points(x, "x"), metric)


def rise_test(x: Any, y: Any = None, *, labels: Any = None, k: int = 10,
              rank: Literal["graph", "overall"] = "graph", graph: Literal["knn", "mst"] = "knn",
              metric: Metric = "euclidean", permutations: int = 0, generator: Any = None,
              strata: Any = None, **options: Any) -> RiseResult:
    """RISE two-sample test (Zhou & Chen, COLT 2023): are ``x`` (m, d) and ``y`` (n, d) drawn from
    the same distribution?

    Inputs: two samples ``x``, ``y``; or one pooled sample ``x`` (N, d) with a group vector
    ``labels`` (N,) (booleans, 0/1, or any two values); or, with ``metric="precomputed"`` /
    ``"similarity"``, an (N, N) distance / similarity matrix ``x`` with the group vector as ``y``
    or ``labels``. ``metric``: ``"euclidean"`` (default; blocked k-NN search, never N × N for the
    k-NN graph), any SciPy ``cdist`` name (``graphs.METRIC_NAMES``) or a callable
    ``f(a, b) -> distances`` (dense). ``strata`` (N,): stratified permutations (needs
    ``permutations``). Further :class:`RiseConfig` fields (``symmetrize``, ``ties``,
    ``small_sample``, ``precision``, ``device``) pass through ``options``.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> result = rise_test(rng.normal(size=(60, 5)), rng.normal(size=(60, 5)) * 2.0, k=5)
    >>> result.pvalue < 0.01
    True
    """
    config = RiseConfig(k=k, rank=rank, graph=graph, permutations=permutations, **options)
    return RISE(config).test(x, y, labels=labels, metric=metric, generator=generator, strata=strata)


def rank_matrix(x: Any, y: Any = None, *, k: int = 10, rank: Literal["graph", "overall"] = "graph",
                graph: Literal["knn", "mst"] = "knn", metric: Metric = "euclidean",
                **options: Any) -> sparse.csr_array:
    """The symmetric sparse (N, N) rank matrix (R^g or R^o) of the pooled sample.

    ``x`` alone (N, d), or ``x`` and ``y`` (pooled in that order), or an (N, N) matrix with
    ``metric="precomputed"`` / ``"similarity"``.
    """
    return RISE(RiseConfig(k=k, rank=rank, graph=graph, **options)).ranks(x, y, metric=metric)


def graph_induced_ranks(x: Any, y: Any = None, *, k: int = 10, graph: Literal["knn", "mst"] = "knn",
                        metric: Metric = "euclidean", **options: Any) -> sparse.csr_array:
    """R^g: the graph-induced rank matrix (sparse, symmetric)."""
    return rank_matrix(x, y, k=k, rank="graph", graph=graph, metric=metric, **options)


def overall_ranks(x: Any, y: Any = None, *, k: int = 10, graph: Literal["knn", "mst"] = "knn",
                  metric: Metric = "euclidean", **options: Any) -> sparse.csr_array:
    """R^o: the overall rank matrix (sparse, symmetric)."""
    return rank_matrix(x, y, k=k, rank="overall", graph=graph, metric=metric, **options)
