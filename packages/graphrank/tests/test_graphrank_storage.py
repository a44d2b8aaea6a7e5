"""The graph and ranks a test used: kept on the result, saved to .npz and read back exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from methodzoo.graphrank import load_ranks, rise_test, rise_test_from_ranks, save_ranks
from methodzoo.shared.errors import UserError


@pytest.mark.parametrize("graph", ["knn", "mst"])
def test_save_and_load_round_trip(tmp_path: Path, graph: str) -> None:
    rng = np.random.default_rng(0)
    result = rise_test(rng.normal(size=(30, 4)), rng.normal(size=(35, 4)), k=3, graph=graph)
    assert result.graph is not None and result.graph.kind == graph and result.ranks.shape == (65, 65)
    saved = load_ranks(save_ranks(tmp_path / "ranks.npz", result))
    assert (saved.ranks != result.ranks).nnz == 0
    np.testing.assert_array_equal(saved.labels, np.arange(65) < 30)
    assert saved.graph is not None
    for name in ("source", "target", "level", "distance"):
        np.testing.assert_array_equal(getattr(saved.graph, name), getattr(result.graph, name))
    assert (saved.graph.kind, saved.graph.k, saved.graph.directed) == (graph, 3, graph == "knn")
    # the saved ranks and labels reproduce the test
    again = rise_test_from_ranks(saved.ranks, saved.labels)
    assert again.statistic == pytest.approx(result.statistic, rel=1e-12)


def test_storage_errors(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    result = rise_test(rng.normal(size=(30, 4)), rng.normal(size=(30, 4)), k=3)
    with pytest.raises(UserError, match=r"\.npz"):
        save_ranks(tmp_path / "ranks.txt", result)
    with pytest.raises(UserError, match="no such file"):
        load_ranks(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, values=np.arange(3))
    with pytest.raises(UserError, match="not a graphrank ranks file"):
        load_ranks(other)
