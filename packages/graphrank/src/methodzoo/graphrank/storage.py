"""Save and load the graph and ranks a test used, for diagnostics (``.npz``, no pickles).

One file holds the sparse rank matrix (CSR arrays), the boolean labels and, when the test built
one, the similarity graph's edge list (source, target, level, distance). Loading never unpickles:
every entry is a plain numeric or string array read with ``allow_pickle=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from methodzoo.graphrank.graphs import SimilarityGraph
from methodzoo.graphrank.statistic import RiseResult
from methodzoo.shared.errors import UserError
from methodzoo.shared.io import atomic_write

FORMAT = "methodzoo-graphrank-ranks-v1"


@dataclass(frozen=True)
class SavedRanks:
    """What :func:`load_ranks` returns: the rank matrix, the labels and the graph (or None)."""

    ranks: sparse.csr_array
    labels: np.ndarray | None
    graph: SimilarityGraph | None


def save_ranks(path: str | Path, result: RiseResult) -> Path:
    """Write ``result.ranks``, ``result.labels`` and ``result.graph`` to ``path`` (``.npz``), atomically."""
    target = Path(path)
    if target.suffix.lower() != ".npz":
        raise UserError(f"the ranks file must end in .npz, got {target}")
    if result.ranks is None:
        raise UserError("this result holds no rank matrix to save")
    ranks = sparse.csr_array(result.ranks)
    arrays: dict[str, Any] = {"format": np.array(FORMAT), "rank_data": ranks.data,
                              "rank_indices": ranks.indices, "rank_indptr": ranks.indptr,
                              "rank_shape": np.array(ranks.shape, dtype=np.int64)}
    if result.labels is not None:
        arrays["labels"] = np.asarray(result.labels, dtype=bool)
    graph = result.graph
    if graph is not None:
        arrays.update(graph_source=graph.source, graph_target=graph.target, graph_level=graph.level,
                      graph_distance=graph.distance, graph_kind=np.array(graph.kind),
                      graph_k=np.array(graph.k), graph_directed=np.array(graph.directed))

    def write(temp: Path) -> None:
        with open(temp, "wb") as handle:  # a handle: np.savez would append ".npz" to a bare name
            np.savez_compressed(handle, **arrays)

    return atomic_write(target, write)


def load_ranks(path: str | Path) -> SavedRanks:
    """Read a file written by :func:`save_ranks`."""
    source = Path(path)
    if not source.is_file():
        raise UserError(f"cannot read {source}: no such file")
    try:
        with np.load(source, allow_pickle=False) as data:
            if "format" not in data.files or str(data["format"]) != FORMAT:
                raise UserError(f"{source} is not a graphrank ranks file (expected format {FORMAT})")
            shape = tuple(int(v) for v in data["rank_shape"])
            ranks = sparse.csr_array((data["rank_data"], data["rank_indices"], data["rank_indptr"]), shape=shape)
            labels = data["labels"] if "labels" in data.files else None
            graph = None
            if "graph_source" in data.files:
                graph = SimilarityGraph(n=shape[0], k=int(data["graph_k"]), kind=str(data["graph_kind"]),  # type: ignore[arg-type]
                                        source=data["graph_source"], target=data["graph_target"],
                                        level=data["graph_level"], distance=data["graph_distance"],
                                        directed=bool(data["graph_directed"]))
    except (OSError, ValueError, KeyError) as error:
        raise UserError(f"cannot read {source}: {error}") from error
    return SavedRanks(ranks=ranks, labels=labels, graph=graph)
