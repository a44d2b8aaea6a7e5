"""methodzoo-graphrank: graph-induced and overall ranks and the RISE two-sample test.

Zhou & Chen, "A new ranking scheme for modern data and its application to two-sample hypothesis
testing", COLT 2023 (arXiv 2112.12948).
"""

from methodzoo.graphrank.config import RiseConfig
from methodzoo.graphrank.graphs import (
    METRIC_NAMES,
    SimilarityGraph,
    kmst_graph,
    knn_graph_from_distances,
)
from methodzoo.graphrank.ranks import adjacency, graph_induced_rank, overall_rank
from methodzoo.graphrank.rise import (
    RISE,
    graph_induced_ranks,
    overall_ranks,
    rank_matrix,
    rise_test,
)
from methodzoo.graphrank.statistic import (
    NullMoments,
    RiseResult,
    SmallSampleWarning,
    null_moments,
    rank_sums,
    rise_test_from_ranks,
)
from methodzoo.graphrank.storage import SavedRanks, load_ranks, save_ranks

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "RiseConfig",
    # the method class and its result
    "RISE",
    "RiseResult",
    "SmallSampleWarning",
    # verbs
    "rise_test",
    "rise_test_from_ranks",
    "rank_matrix",
    "graph_induced_ranks",
    "overall_ranks",
    "save_ranks",
    "load_ranks",
    "SavedRanks",
    "METRIC_NAMES",
    # building blocks
    "SimilarityGraph",
    "knn_graph_from_distances",
    "kmst_graph",
    "graph_induced_rank",
    "overall_rank",
    "adjacency",
    "NullMoments",
    "null_moments",
    "rank_sums",
]
