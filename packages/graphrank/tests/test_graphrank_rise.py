"""The end-to-end test: input forms, determinism, calibration under the null, power, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

from methodzoo.graphrank import RISE, RiseConfig, RiseResult, SmallSampleWarning, rise_test
from methodzoo.shared.errors import ConfigError, UserError
from methodzoo.shared.testing import binomial_band

pytestmark = pytest.mark.filterwarnings("ignore::methodzoo.graphrank.SmallSampleWarning")


def samples(rng: np.random.Generator, m: int = 30, n: int = 34, d: int = 5,
            scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    return rng.normal(size=(m, d)), rng.normal(size=(n, d)) * scale


@pytest.mark.parametrize("rank", ["graph", "overall"])
@pytest.mark.parametrize("graph", ["knn", "mst"])
def test_points_distances_similarities_and_callables_agree(rank: str, graph: str) -> None:
    rng = np.random.default_rng(0)
    x, y = samples(rng)
    pooled = np.concatenate([x, y])
    labels = np.arange(64) < 30
    distances = cdist(pooled, pooled)
    options = {"k": 5, "rank": rank, "graph": graph}
    base = rise_test(x, y, **options)
    variants = [
        rise_test(distances, labels, metric="precomputed", **options),
        rise_test(-distances, labels, metric="similarity", **options),
        rise_test(np.exp(-distances), labels, metric="similarity", **options),
        rise_test(x, y, metric=lambda a, b: cdist(a, b), **options),
        rise_test(x, y, metric="euclidean", precision="float32", **options),
    ]
    for other in variants:
        assert other.statistic == pytest.approx(base.statistic, rel=1e-9)
        assert other.pvalue == pytest.approx(base.pvalue, rel=1e-6)
    # A non-Euclidean metric changes the graph, hence the statistic, but still runs.
    assert rise_test(x, y, metric="cityblock", **options).statistic != base.statistic


def test_a_pooled_sample_with_a_group_vector_equals_two_samples() -> None:
    rng = np.random.default_rng(11)
    x, y = samples(rng, scale=1.3)
    pooled = np.concatenate([x, y])
    groups = np.where(np.arange(64) < 30, "a", "b")
    order = rng.permutation(64)  # the pooled sample in any order
    base = rise_test(x, y, k=5)
    shuffled = rise_test(pooled[order], labels=groups[order], k=5)
    assert shuffled.statistic == pytest.approx(base.statistic, rel=1e-9)
    assert (shuffled.m, shuffled.n) == (30, 34)
    with pytest.raises(UserError, match="not both"):
        rise_test(x, y, labels=groups)
    with pytest.raises(UserError, match="labels"):
        rise_test(pooled)


def test_metric_names_aliases_and_euclidean_order() -> None:
    rng = np.random.default_rng(12)
    x, y = samples(rng)
    base = rise_test(x, y, k=5, rank="overall")
    # sqeuclidean orders neighbours (and edges) as euclidean does: same graph, same ranks
    assert rise_test(x, y, k=5, rank="overall", metric="sqeuclidean").statistic == pytest.approx(
        base.statistic, rel=1e-9)
    assert rise_test(x, y, k=5, metric="manhattan").statistic == pytest.approx(
        rise_test(x, y, k=5, metric="cityblock").statistic, rel=1e-12)
    assert rise_test(x, y, k=5, metric="cosine").statistic != rise_test(x, y, k=5).statistic
    with pytest.raises(UserError, match="unknown metric 'manhatan'.*cityblock"):
        rise_test(x, y, metric="manhatan")


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.ones((8, 8)) - np.eye(8) + np.diag(np.full(8, 0.5)), "zero diagonal"),
        (np.triu(np.ones((8, 8)), 1), "symmetric"),
        (np.where(np.eye(8) == 1, 0.0, np.inf), "NaN or infinite"),
        (np.ones((8, 7)), "square"),
        (-(np.ones((8, 8)) - np.eye(8)), "non-negative"),
    ],
)
def test_precomputed_matrix_checks(matrix: np.ndarray, message: str) -> None:
    with pytest.raises(UserError, match=message):
        rise_test(matrix, np.arange(8) < 4, metric="precomputed", k=2)


def test_result_unpacks_like_hyppo_and_serialises() -> None:
    rng = np.random.default_rng(1)
    x, y = samples(rng)
    result = rise_test(x, y, k=5)
    stat, pvalue = result
    assert isinstance(result, RiseResult)
    assert (stat, pvalue) == (result.stat, result.pvalue)
    summary = result.to_dict()
    assert summary["statistic"] == stat and summary["m"] == 30 and summary["n"] == 34
    assert "ranks" not in summary and result.ranks.shape == (64, 64)


def test_identical_inputs_and_generator_give_identical_results() -> None:
    rng = np.random.default_rng(2)
    x, y = samples(rng)
    first = rise_test(x, y, k=5, permutations=200, generator=11)
    second = rise_test(x.copy(), y.copy(), k=5, permutations=200, generator=11)
    assert first.statistic == second.statistic
    assert first.pvalue_permutation == second.pvalue_permutation
    import torch

    from_torch = rise_test(x, y, k=5, permutations=200, generator=torch.Generator().manual_seed(5))
    again = rise_test(x, y, k=5, permutations=200, generator=torch.Generator().manual_seed(5))
    assert from_torch.pvalue_permutation == again.pvalue_permutation


def test_swapping_the_samples_leaves_the_statistic_unchanged() -> None:
    rng = np.random.default_rng(3)
    x, y = samples(rng, scale=1.2)
    for rank in ("graph", "overall"):
        assert rise_test(y, x, k=5, rank=rank).statistic == pytest.approx(
            rise_test(x, y, k=5, rank=rank).statistic, rel=1e-10)


@pytest.fixture
def one_thread():  # type: ignore[no-untyped-def]
    """N = 100 problems: torch's thread pool costs more than it saves, above all on a busy CPU."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_type_one_error_in_binomial_band_and_uniform_pvalues(one_thread: None) -> None:
    rng = np.random.default_rng(4)
    draws = 400
    test = RISE(RiseConfig(k=10))
    pvalues: dict[str, list[float]] = {"graph": [], "overall": []}
    for _ in range(draws):
        x, y = samples(rng, m=50, n=50, d=10)
        data, labels = test.pool(x, y, "euclidean")
        graph = test.build_graph(data)
        for rank in pvalues:
            variant = RISE(RiseConfig(k=10, rank=rank))  # type: ignore[arg-type]
            result = variant.compute_test(variant.compute_ranks(graph), labels, permutations=0, generator=None)
            pvalues[rank].append(result.pvalue)
    low, high = binomial_band(draws, 0.05, 0.99)
    for rank, values in pvalues.items():
        rejections = int(np.sum(np.array(values) < 0.05))
        assert low <= rejections <= high, (rank, rejections, (low, high))
        assert stats.kstest(values, "uniform").pvalue > 0.001, rank


def test_power_on_a_scale_alternative() -> None:
    rng = np.random.default_rng(5)
    rejections = 0
    for _ in range(20):
        x, y = samples(rng, m=50, n=50, d=50, scale=1.3)
        rejections += rise_test(x, y, k=10).pvalue < 0.05
    assert rejections >= 18


def test_small_sample_warning_through_rise_test() -> None:
    rng = np.random.default_rng(6)
    x, y = samples(rng, m=10, n=12)
    with pytest.warns(SmallSampleWarning):
        rise_test(x, y, k=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rise_test(x, y, k=3, permutations=99, generator=0)
        rise_test(x, y, k=3, small_sample=0)


@pytest.mark.parametrize(
    ("x", "y", "options", "message"),
    [
        (np.ones((10, 3)), np.ones((10, 4)), {}, "same number of features"),
        (np.full((10, 3), np.nan), np.ones((10, 3)), {}, "NaN"),
        (np.ones((3, 3)), np.ones((10, 3)), {}, "at least 4"),
        (np.ones((10, 3)), np.ones((10, 3)), {"k": 20}, "k must be"),
        (np.ones((2, 2, 2)), np.ones((10, 3)), {}, "2-D"),
    ],
)
def test_bad_inputs(x: np.ndarray, y: np.ndarray, options: dict, message: str) -> None:
    with pytest.raises(UserError, match=message):
        rise_test(x, y, **options)


def test_bad_config() -> None:
    with pytest.raises(ConfigError, match="k must be"):
        RiseConfig(k=0)
    with pytest.raises(ConfigError, match="rank"):
        RiseConfig(rank="depth")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="permutations"):
        RiseConfig(permutations=-1)


@pytest.mark.slow
def test_mst_type_one_error_in_binomial_band() -> None:
    rng = np.random.default_rng(7)
    draws = 500
    rejections = {"graph": 0, "overall": 0}
    for _ in range(draws):
        x, y = samples(rng, m=50, n=50, d=10)
        for rank in rejections:
            rejections[rank] += rise_test(x, y, k=5, graph="mst", rank=rank).pvalue < 0.05  # type: ignore[arg-type]
    low, high = binomial_band(draws, 0.05, 0.99)
    for rank, count in rejections.items():
        assert low <= count <= high, (rank, count)


def test_import_is_lean() -> None:
    import subprocess
    import sys

    code = ("import sys, methodzoo.graphrank, methodzoo.graphrank.cli, methodzoo.graphrank.bench\n"
            "assert 'hyppo' not in sys.modules, 'hyppo imported eagerly'\n"
            "assert 'graspologic' not in sys.modules\n"
            "torch = sys.modules.get('torch')\n"
            "assert torch is None or not torch.cuda.is_initialized()\n")
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
