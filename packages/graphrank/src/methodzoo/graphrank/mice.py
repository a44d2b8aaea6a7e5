"""The 32 mouse DTI connectomes shipped in the graspologic 3.4.4 wheel, read without importing it.

graspologic pins numpy<2, so it is installed without its dependencies and must never be
imported; we locate its folder with ``importlib.util.find_spec`` and parse
``datasets/mice/edgelists/*.edgelist`` ("i j weight" lines, 332 nodes) and ``participants.csv``
(participant_id, genotype, sex) ourselves.
"""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from methodzoo.shared.errors import DataNotFoundError

NUM_NODES = 332


@dataclass(frozen=True)
class MiceConnectomes:
    """``adjacency`` (32, 332, 332) float64 symmetric weights, ``genotype`` and ``sex`` (32,) str."""

    adjacency: np.ndarray
    genotype: np.ndarray
    sex: np.ndarray
    subjects: tuple[str, ...]


def mice_folder() -> Path:
    """``graspologic/datasets/mice`` of the installed wheel, or :class:`DataNotFoundError`."""
    spec = importlib.util.find_spec("graspologic")
    if spec is None or not spec.submodule_search_locations:
        raise DataNotFoundError("the graspologic wheel is not installed (it ships the mouse connectomes); "
                                "install it with `pip install --no-deps graspologic==3.4.4`")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "mice"
    if not (folder / "participants.csv").is_file() or not (folder / "edgelists").is_dir():
        raise DataNotFoundError(f"expected participants.csv and edgelists/ under {folder}")
    return folder


def load_mice(folder: str | Path | None = None) -> MiceConnectomes:
    """Read the 32 connectomes (symmetric weighted adjacency matrices) and their genotypes."""
    root = Path(folder) if folder is not None else mice_folder()
    if not (root / "participants.csv").is_file():
        raise DataNotFoundError(f"expected participants.csv and edgelists/<participant>_ses-1_dti.edgelist "
                                f"under {root}")
    with open(root / "participants.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    matrices, genotypes, sexes, subjects = [], [], [], []
    for row in rows:
        subject = row["participant_id"]
        path = root / "edgelists" / f"{subject}_ses-1_dti.edgelist"
        if not path.is_file():
            raise DataNotFoundError(f"missing edge list {path}")
        edges = np.loadtxt(path, ndmin=2)  # (E, 3): i, j, weight
        adjacency = np.zeros((NUM_NODES, NUM_NODES))
        i, j = edges[:, 0].astype(int), edges[:, 1].astype(int)
        adjacency[i, j] = edges[:, 2]
        adjacency[j, i] = edges[:, 2]
        matrices.append(adjacency)
        genotypes.append(row["genotype"])
        sexes.append(row["sex"])
        subjects.append(subject)
    return MiceConnectomes(np.stack(matrices), np.array(genotypes), np.array(sexes), tuple(subjects))


def frobenius_distances(adjacency: np.ndarray) -> np.ndarray:
    """Pairwise Frobenius distances between log(1 + weight) adjacency matrices: (S, S)."""
    flat = np.log1p(adjacency).reshape(adjacency.shape[0], -1)  # (S, 332*332)
    squared = (flat ** 2).sum(axis=1)
    gram = flat @ flat.T
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * gram, 0.0))
    np.fill_diagonal(distances, 0.0)
    return (distances + distances.T) / 2  # exactly symmetric despite the BLAS rounding of the Gram
