"""Configuration of the RISE test (Zhou & Chen, COLT 2023): one list of defaults for the API,
the CLI flags and the JSON written next to results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

RankType = Literal["graph", "overall"]
GraphType = Literal["knn", "mst"]


@dataclass(frozen=True)
class RiseConfig(Config):
    """Options of the rank-in-similarity-graph-edge-count (RISE) two-sample test.

    ``rank="graph"`` with ``graph="knn"`` is the paper's ``RgNN`` (the R package's default),
    ``"overall"``/``"mst"`` give ``RoNN``, ``RgMST``, ``RoMST``.
    """

    k: int = field(default=10, metadata={"help": "graph size: k nearest neighbours or k orthogonal MSTs"})
    rank: RankType = field(default="graph", metadata={"help": "graph-induced (R^g) or overall (R^o) rank"})
    graph: GraphType = field(default="knn", metadata={"help": "similarity graph: k-NN graph or k-MST"})
    symmetrize: Literal["sum", "max"] = field(
        default="max", metadata={"help": "k-NN graph-induced rank: max(R_dir, R_dir^T), the paper's count over "
                                         "the undirected l-NN graphs (max), or R_dir + R_dir^T (sum)"})
    ties: Literal["average", "stable"] = field(
        default="average", metadata={"help": "overall rank: equal similarities share the average rank, "
                                             "or get distinct ranks, lower (i, j) ranked more similar"})
    permutations: int = field(default=0, metadata={"help": "permutations for a permutation p-value (0: none)"})
    small_sample: int = field(
        default=30, metadata={"help": "warn when min(m, n) is below this and permutations is 0"})
    precision: Literal["float64", "float32"] = field(
        default="float64", metadata={"help": "dtype of the Euclidean k-NN distances on CPU"})
    device: str = field(default="cpu", metadata={"help": "device of the Euclidean k-NN search: cpu, cuda, auto"})
    block_rows: int = field(default=1024, metadata={"help": "rows per block of the k-NN search"})

    def validate(self) -> None:
        check(self.k >= 1, "k must be at least 1, got {}", self.k)
        check(self.permutations >= 0, "permutations must be >= 0, got {}", self.permutations)
        check(self.small_sample >= 0, "small_sample must be >= 0, got {}", self.small_sample)
        check(self.block_rows >= 1, "block_rows must be >= 1, got {}", self.block_rows)
