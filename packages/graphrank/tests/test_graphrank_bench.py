"""Pieces of the benchmark: the connectome reader (on a tiny file in the wheel's format and on
the real wheel when installed) and the shared-graph p-values the power study uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from methodzoo.graphrank import rise_test
from methodzoo.graphrank.bench import our_pvalues, simulate
from methodzoo.graphrank.mice import NUM_NODES, frobenius_distances, load_mice, mice_folder
from methodzoo.shared.errors import DataNotFoundError

pytestmark = pytest.mark.filterwarnings("ignore::methodzoo.graphrank.SmallSampleWarning")


def write_mice_folder(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """participants.csv + edgelists/<id>_ses-1_dti.edgelist ("i j weight", upper triangle)."""
    (root / "edgelists").mkdir(parents=True)
    lines = ["participant_id,genotype,sex"]
    truth = {}
    for index, genotype in enumerate(["B6", "B6", "CAST"]):
        subject = f"sub-{index}"
        lines.append(f"{subject},{genotype},female")
        i, j = np.triu_indices(NUM_NODES, 1)
        keep = rng.random(i.shape[0]) < 0.01
        weights = rng.integers(1, 100, size=int(keep.sum())).astype(float)
        np.savetxt(root / "edgelists" / f"{subject}_ses-1_dti.edgelist",
                   np.column_stack([i[keep], j[keep], weights]), fmt=["%d", "%d", "%.1f"])
        dense = np.zeros((NUM_NODES, NUM_NODES))
        dense[i[keep], j[keep]] = weights
        truth[subject] = dense + dense.T
    (root / "participants.csv").write_text("\n".join(lines) + "\n")
    return truth


def test_mice_reader_on_a_tiny_folder_in_the_wheel_format(tmp_path: Path) -> None:
    truth = write_mice_folder(tmp_path, np.random.default_rng(0))
    data = load_mice(tmp_path)
    assert data.genotype.tolist() == ["B6", "B6", "CAST"]
    for index, subject in enumerate(data.subjects):
        np.testing.assert_array_equal(data.adjacency[index], truth[subject])
    distances = frobenius_distances(data.adjacency)
    direct = np.array([[np.linalg.norm(np.log1p(a) - np.log1p(b)) for b in data.adjacency]
                       for a in data.adjacency])
    np.testing.assert_allclose(distances, direct, rtol=1e-9, atol=1e-9)
    assert np.array_equal(distances, distances.T)


def test_mice_reader_reports_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="participants"):
        load_mice(tmp_path)


def test_real_connectomes_when_the_wheel_is_installed() -> None:
    try:
        folder = mice_folder()
    except DataNotFoundError as error:
        pytest.skip(str(error))
    data = load_mice(folder)
    assert data.adjacency.shape == (32, NUM_NODES, NUM_NODES)
    assert sorted(set(data.genotype.tolist())) == ["B6", "BTBR", "CAST", "DBA2"]
    assert all(np.sum(data.genotype == g) == 8 for g in set(data.genotype.tolist()))
    assert np.array_equal(data.adjacency, np.transpose(data.adjacency, (0, 2, 1)))


def test_shared_graph_pvalues_equal_separate_calls() -> None:
    x, y = simulate("scale", 30, 30, 20, np.random.default_rng(1))
    pvalues = our_pvalues(x, y, k=5)
    for name, rank, graph in [("RISE Rg-NN", "graph", "knn"), ("RISE Ro-MST", "overall", "mst")]:
        assert pvalues[name] == pytest.approx(rise_test(x, y, k=5, rank=rank, graph=graph).pvalue, rel=1e-12)


def test_verdicts_follow_the_targets() -> None:
    from methodzoo.graphrank.bench import OURS, PEERS, verdicts

    def cell(ours: float, peers: float) -> dict[str, float]:
        return {**dict.fromkeys(OURS, ours), **dict.fromkeys(PEERS, peers)}

    rates = {"null d=100": cell(0.05, 0.05), "scale d=100": cell(0.6, 0.3), "mixture d=100": cell(0.5, 0.0)}
    timing = [{"N": 10000, "rise_seconds": 2.0, "speedup_vs_energy_perm1000": 40.0, "speedup_like_for_like": 30.0,
               "rise_seconds_like_for_like": 2.0, "energy_default_seconds_like_for_like": 60.0,
               "like_for_like_rounds": 2}]
    size, power, like, extrapolated = verdicts(rates, timing)
    assert size.held and power.held and like.held and extrapolated.held
    assert power.ratio == pytest.approx(2.0)  # the peers' zero power on the mixture gives no ratio
    assert like.ratio == pytest.approx(1.5) and extrapolated.ratio == pytest.approx(2.0)
    assert "extrapolated" in extrapolated.claim and "like for like" in like.claim
    rates["null d=100"]["RISE Ro-MST"] = 0.08
    rates["scale d=100"]["RISE Rg-NN"] = 0.2
    size, power, like, _ = verdicts(rates, [{**timing[0], "speedup_like_for_like": 5.0}])
    assert size.held is False and power.held is False and like.held is False


def test_gaussian_mmd_matches_its_definition_and_is_calibrated() -> None:
    from methodzoo.graphrank.bench import mmd_gaussian_pvalue, mmd_gaussian_statistics

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 0.3
    pooled = np.concatenate([x, y])
    distances = np.linalg.norm(pooled[:, None] - pooled[None], axis=-1)
    sigma = np.median(distances[~np.eye(21, dtype=bool)])

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.exp(-np.sum((a - b) ** 2) / (2 * sigma ** 2)))

    xx = sum(k(a, b) for i, a in enumerate(x) for j, b in enumerate(x) if i != j) / (12 * 11)
    yy = sum(k(a, b) for i, a in enumerate(y) for j, b in enumerate(y) if i != j) / (9 * 8)
    xy = sum(k(a, b) for a in x for b in y) / (12 * 9)
    assert mmd_gaussian_statistics(x, y, 5, rng)[0] == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    null = [mmd_gaussian_pvalue(rng.normal(size=(20, 5)), rng.normal(size=(20, 5)), 99, rng) for _ in range(200)]
    assert stats.kstest(null, "uniform").pvalue > 0.001
    assert mmd_gaussian_pvalue(rng.normal(size=(30, 5)), rng.normal(size=(30, 5)) + 1.0, 99, rng) < 0.02
