"""``methodzoo bench graphrank``: calibration, power, speed and a real-data illustration of RISE.

1. Power study (the paper's simulation design at small scale): m = n = 50, Gaussian X, and Y
   under the null, a location shift, a scale change and a symmetric two-component mixture, in
   d = 100 (quick) or d ∈ {100, 500} (full). Compared in the same run: RISE with both rank types
   on the k-NN graph and the k-MST (k = 10), our generalized edge-count test (R = k-NN
   adjacency), and three peers: one distance test (hyppo's Energy, its default call: χ²
   approximation for n > 20), one kernel test (unbiased Gaussian-kernel MMD², bandwidth by the
   median heuristic, permutation p-value; :func:`mmd_gaussian_pvalue`) and Friedman–Rafsky
   (hyppo's runs statistic, permutation p-value, both tails). hyppo's own MMD is still run on
   every draw but only recorded: its default (Gaussian kernel, median-heuristic bandwidth, χ²
   approximation) gives p-values that agree with Energy's to about 0.01 in this design, so it is
   not a second peer.
2. Timing: the asymptotic RISE test (R^g, k-NN, k = 10) for N from 1,000 to 10,000 (quick) or
   20,000 (full), d = 100, against hyppo's Energy test. Like for like first: at N = 10,000 the
   asymptotic RISE test and hyppo's default (asymptotic) Energy call are timed in interleaved
   rounds (``interleaved_timing``). Then hyppo's permutation Energy (1,000 permutations), timed
   with a few permutations at small N, fitted as base + per-permutation cost and extrapolated
   with the O(N²) cost of both parts; extrapolated cells are marked. The full profile adds one
   RISE call at N = 100,000 (never N × N).
3. Mouse connectomes (graspologic wheel): genotype vs genotype (8 vs 8) with a Frobenius
   distance between log-weighted adjacency matrices, permutation p-values; female vs male with
   and without permutations stratified by genotype; and random 16-vs-16 splits of all 32 mice,
   whose permutation p-values must be uniform.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from methodzoo.graphrank.config import RiseConfig
from methodzoo.graphrank.ranks import adjacency
from methodzoo.graphrank.rise import RISE
from methodzoo.graphrank.statistic import SmallSampleWarning, rise_test_from_ranks
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Profiles, Table, Verdict
from methodzoo.shared.config import Config
from methodzoo.shared.errors import DataNotFoundError, missing_extra
from methodzoo.shared.memory import peak_memory
from methodzoo.shared.parallel import torch_threads
from methodzoo.shared.timing import interleaved_timing, time_call, timed_call

ALPHA = 0.05
K = 10
OURS = ("RISE Rg-NN", "RISE Ro-NN", "RISE Rg-MST", "RISE Ro-MST", "edge-count NN")
PEERS = ("hyppo Energy", "MMD Gaussian median", "hyppo Friedman-Rafsky", "Friedman-Rafsky lower tail")
RECORDED = ("hyppo MMD",)  # run and recorded (its key is kept), not a peer: it tracks Energy
CALIBRATION = {
    "hyppo Energy": "χ² approximation (hyppo default, auto=True, n > 20)",
    "MMD Gaussian median": "permutations (mmd_permutations)",
    "hyppo Friedman-Rafsky": "permutations (fr_permutations), upper tail as hyppo 0.5.2 returns it",
    "Friedman-Rafsky lower tail": "permutations (fr_permutations, same draws), lower tail: the published test",
    "hyppo MMD": "χ² approximation (hyppo default); recorded only",
}
LIKE_FOR_LIKE_N = 10000


@dataclass(frozen=True)
class Settings(Config):
    """The sizes of one profile of the benchmark."""

    dims: tuple[int, ...]  # dimensions of the power study
    null_replications: int  # draws under the null for our tests
    null_replications_peers: int  # ... and for hyppo's (slower)
    alternative_replications: int  # draws under each alternative, ours and peers
    fr_permutations: int  # permutations of the Friedman-Rafsky test
    mmd_permutations: int  # permutations of the Gaussian-kernel MMD test
    timing_sizes: tuple[int, ...]  # N = m + n of the timing study
    energy_default_max_n: int  # hyppo's default Energy call is run up to this N, extrapolated above
    mice_permutations: int
    mice_null_splits: int  # random 16-vs-16 splits of all 32 mice
    like_for_like_rounds: int  # interleaved rounds of RISE vs hyppo Energy's default call at N = 10,000
    scale_sizes: tuple[int, ...]  # N of single RISE calls at scale (d = 100), no peer


PROFILES = Profiles(
    quick=Settings(dims=(100,), null_replications=300, null_replications_peers=100, alternative_replications=40,
                   fr_permutations=50, mmd_permutations=200, timing_sizes=(1000, 2000, 5000, 10000),
                   energy_default_max_n=2000, mice_permutations=1999, mice_null_splits=100,
                   like_for_like_rounds=2, scale_sizes=()),
    full=Settings(dims=(100, 500), null_replications=1000, null_replications_peers=200,
                  alternative_replications=150, fr_permutations=100, mmd_permutations=500,
                  timing_sizes=(1000, 2000, 5000, 10000, 20000), energy_default_max_n=10000,
                  mice_permutations=9999, mice_null_splits=300, like_for_like_rounds=3,
                  scale_sizes=(100000,)),
)


def simulate(setting: str, m: int, n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """X ~ N(0, I_d); Y under ``setting``. Effect sizes shrink with √d so power stays comparable.

    location: Y ~ N(δ1, I), δ = 2/√d (‖shift‖ = 2); scale: Y ~ N(0, σ²I), σ = 1 + 0.5/√d;
    mixture: Y ~ ½N(−a1, I) + ½N(a1, I), a = 0.8 d^(−1/4) (same mean as X, different covariance).
    """
    x = rng.normal(size=(m, d))
    y = rng.normal(size=(n, d))
    if setting == "location":
        y += 2.0 / np.sqrt(d)
    elif setting == "scale":
        y *= 1.0 + 0.5 / np.sqrt(d)
    elif setting == "mixture":
        signs = np.where(rng.random(n) < 0.5, -1.0, 1.0)[:, None]
        y += signs * 0.8 * d ** -0.25
    elif setting != "null":
        raise ValueError(setting)
    return x, y


def our_pvalues(x: np.ndarray, y: np.ndarray, k: int = K) -> dict[str, float]:
    """Asymptotic p-values of the four RISE variants and the generalized edge-count test; each
    graph is built once and shared by its rank types (as the class steps allow)."""
    out: dict[str, float] = {}
    for graph_name, suffix in (("knn", "NN"), ("mst", "MST")):
        base = RISE(RiseConfig(k=k, graph=graph_name))  # type: ignore[arg-type]
        data, labels = base.pool(x, y, "euclidean")
        graph = base.build_graph(data)
        for rank, tag in (("graph", "Rg"), ("overall", "Ro")):
            variant = RISE(RiseConfig(k=k, graph=graph_name, rank=rank))  # type: ignore[arg-type]
            result = variant.compute_test(variant.compute_ranks(graph), labels, permutations=0, generator=None)
            out[f"RISE {tag}-{suffix}"] = result.pvalue
        if graph_name == "knn":
            out["edge-count NN"] = rise_test_from_ranks(adjacency(graph), labels).pvalue
    return out


def mmd_gaussian_pvalue(x: np.ndarray, y: np.ndarray, permutations: int, rng: np.random.Generator) -> float:
    """Permutation p-value of the unbiased MMD² with a Gaussian kernel (:func:`mmd_gaussian_statistics`):
    (1 + #{MMD²* ≥ MMD²}) / (1 + P)."""
    mmd2 = mmd_gaussian_statistics(x, y, permutations, rng)
    return float((1 + np.count_nonzero(mmd2[1:] >= mmd2[0] - 1e-12 * abs(mmd2[0]))) / (1 + permutations))


def mmd_gaussian_statistics(x: np.ndarray, y: np.ndarray, permutations: int,
                            rng: np.random.Generator) -> np.ndarray:
    """Unbiased MMD² with a Gaussian kernel (Gretton et al., JMLR 2012) for the observed labelling
    and ``permutations`` relabellings drawn from ``rng``: (1 + P,), the observed first.

    k(a, b) = exp(−‖a − b‖² / (2σ²)) with σ the median heuristic: the median Euclidean distance
    between distinct points of the pooled sample. MMD²_u = mean_{i≠j∈X} k + mean_{i≠j∈Y} k −
    2 mean_{i∈X, j∈Y} k.
    """
    pooled = np.concatenate([x, y])  # (N, d)
    m, n = len(x), len(y)
    norms = (pooled ** 2).sum(axis=1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2.0 * pooled @ pooled.T, 0.0)  # (N, N)
    off_diagonal = ~np.eye(m + n, dtype=bool)
    sigma_squared = float(np.median(np.sqrt(squared[off_diagonal]))) ** 2
    kernel = np.exp(-squared / (2.0 * sigma_squared))
    np.fill_diagonal(kernel, 0.0)  # the unbiased estimate leaves out i = j
    first = np.zeros(m + n, dtype=bool)
    first[:m] = True
    labels = np.column_stack([first, rng.permuted(np.tile(first, (permutations, 1)), axis=1).T])  # (N, 1+P)
    in_x = labels.astype(np.float64)
    in_y = 1.0 - in_x
    kernel_x = kernel @ in_x  # (N, 1+P)
    within_x = np.einsum("ip,ip->p", in_x, kernel_x) / (m * (m - 1))
    between = np.einsum("ip,ip->p", in_y, kernel_x) / (m * n)
    within_y = np.einsum("ip,ip->p", in_y, kernel @ in_y) / (n * (n - 1))
    return within_x + within_y - 2.0 * between  # (1+P,), the observed first


def peer_pvalues(x: np.ndarray, y: np.ndarray, fr_reps: int, seed: int, mmd_reps: int = 200) -> dict[str, float]:
    """hyppo's Energy and MMD (default call), our Gaussian-kernel MMD (``mmd_reps`` permutations)
    and Friedman-Rafsky (``fr_reps`` permutations).

    hyppo 0.5.2's ``FriedmanRafsky.test`` takes the p-value from the upper tail of the number of
    runs (``hyppo.tools.perm_test`` counts null >= observed), but Friedman & Rafsky reject for FEW
    runs. We run hyppo's own statistic through ``perm_test`` once and report both its p-value
    ("hyppo Friedman-Rafsky", as hyppo returns it) and the lower-tail one computed from the same
    null draws ("Friedman-Rafsky lower tail", the test as published).
    """
    try:
        from hyppo.ksample import MMD, Energy, FriedmanRafsky
        from hyppo.tools import perm_test
    except ImportError as error:
        raise missing_extra("hyppo", "methodzoo-graphrank", "bench") from error
    pooled = np.concatenate([x, y])
    labels = np.concatenate([np.zeros(len(x)), np.ones(len(y))])  # 1-D: hyppo 0.5.2 FR needs it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs, upper_p, null_runs = perm_test(FriedmanRafsky().statistic, pooled, labels, reps=fr_reps,
                                             is_distsim=False, random_state=seed)
        return {"hyppo Energy": float(Energy().test(x, y)[1]),
                "hyppo MMD": float(MMD().test(x, y)[1]),
                "MMD Gaussian median": mmd_gaussian_pvalue(x, y, mmd_reps, np.random.default_rng(seed)),
                "hyppo Friedman-Rafsky": float(upper_p),
                "Friedman-Rafsky lower tail": float((1 + np.sum(null_runs <= runs)) / (1 + fr_reps))}


def warm_up_hyppo() -> float:
    """Compile hyppo's numba code once (minutes on a fresh install; cached afterwards)."""
    from hyppo.ksample import Energy

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))

    def compile_once() -> None:
        peer_pvalues(x, y, fr_reps=5, seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Energy().test(x, y, reps=3, auto=False, random_state=0)

    return timed_call(compile_once)[1]


def power_study(ctx: BenchContext, settings: Settings) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Rejection rates at α = 0.05 per (setting, d) for ours and the peers."""
    dims = settings.dims
    null_ours, null_peers = settings.null_replications, settings.null_replications_peers
    alt_reps = settings.alternative_replications
    fr_reps = settings.fr_permutations
    rng = np.random.default_rng(ctx.seed)
    rates: dict[str, dict[str, float]] = {}
    counts: dict[str, int] = {}
    gaps: list[float] = []  # |p(hyppo MMD) − p(hyppo Energy)| on every draw
    plan = [(s, d) for d in dims for s in ("null", "location", "scale", "mixture")]
    with torch_threads(1):  # N = 100: thread start-up costs more than it saves on a shared CPU
        for setting, d in ctx.progress(plan, desc="power"):
            _power_cell(setting, d, null_ours, null_peers, alt_reps, (fr_reps, settings.mmd_permutations), rng,
                        ctx.seed, rates, counts, gaps)
    return rates, {"replications": counts, "fr_permutations": fr_reps, "mmd_permutations": settings.mmd_permutations,
                   "dims": list(dims), "hyppo_mmd_vs_energy_max_pvalue_gap": max(gaps),
                   "hyppo_mmd_vs_energy_median_pvalue_gap": float(np.median(gaps)), "peer_calibration": CALIBRATION}


def _power_cell(setting: str, d: int, null_ours: int, null_peers: int, alt_reps: int,
                permutations: tuple[int, int], rng: np.random.Generator, seed: int,
                rates: dict[str, dict[str, float]], counts: dict[str, int], gaps: list[float]) -> None:
    """One (setting, d) cell: rejection counts → rates, in place. ``permutations``: (FR, MMD)."""
    cell = f"{setting} d={d}"
    reps_ours = null_ours if setting == "null" else alt_reps
    reps_peers = null_peers if setting == "null" else alt_reps
    names = OURS + PEERS + RECORDED
    rejections = dict.fromkeys(names, 0)
    for rep in range(reps_ours):
        x, y = simulate(setting, 50, 50, d, rng)
        for name, p in our_pvalues(x, y).items():
            rejections[name] += p < ALPHA
        if rep < reps_peers:
            peers = peer_pvalues(x, y, permutations[0], seed=seed + rep, mmd_reps=permutations[1])
            for name, p in peers.items():
                rejections[name] += p < ALPHA
            gaps.append(abs(peers["hyppo MMD"] - peers["hyppo Energy"]))
    rates[cell] = {name: rejections[name] / (reps_ours if name in OURS else reps_peers) for name in names}
    counts[cell] = reps_ours
    counts[cell + " (peers)"] = reps_peers


def _seconds(fn: Any, repeats: int = 1) -> float:
    """Median wall time of ``repeats`` calls, no warm-up (a first call costs what later ones do)."""
    return time_call(fn, repeats=repeats, warmup=0).median_s


def timing_study(ctx: BenchContext, settings: Settings) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Seconds of RISE (Rg-NN, asymptotic) vs hyppo Energy (default call, and 1,000 permutations)."""
    from hyppo.ksample import Energy

    sizes = settings.timing_sizes
    energy_auto_max = settings.energy_default_max_n
    energy_perm_sizes = (1000, 2000)
    reps_small, reps_large = (2, 6)
    d = 100
    rng = np.random.default_rng(ctx.seed + 1)
    rows: list[dict[str, Any]] = []
    perm_fit: dict[int, tuple[float, float]] = {}
    auto_measured: dict[int, float] = {}
    for size in ctx.progress(sizes, desc="timing"):
        x = rng.normal(size=(size // 2, d))
        y = rng.normal(size=(size // 2, d))
        repeats = 3 if size <= 2000 else 1
        # the peak RSS of the RISE calls alone (reset before them where Linux allows)
        with peak_memory(count_tensors=False) as peak:
            ours = _seconds(partial(RISE(RiseConfig(k=K)).test, x, y), repeats)
        rss = peak.rss_bytes if peak.rss_bytes is not None else peak.process_peak_rss_bytes
        row: dict[str, Any] = {"N": size, "rise_seconds": ours, "peak_rss_gb": rss / 1e9,
                               "peak_rss_of_call": peak.rss_bytes is not None}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if size == LIKE_FOR_LIKE_N:
                row.update(like_for_like(x, y, settings.like_for_like_rounds))
                auto_measured[size] = row["energy_default_seconds_like_for_like"]
            elif size <= energy_auto_max:
                auto_measured[size] = _seconds(partial(Energy().test, x, y))
            if size in energy_perm_sizes:
                small = _seconds(partial(Energy().test, x, y, reps=reps_small, auto=False, random_state=0))
                large = _seconds(partial(Energy().test, x, y, reps=reps_large, auto=False, random_state=0))
                per_perm = max((large - small) / (reps_large - reps_small), 0.0)
                perm_fit[size] = (max(small - reps_small * per_perm, 0.0), per_perm)
        rows.append(row)
    largest_auto = max(auto_measured)
    largest_perm = max(perm_fit)
    for row in rows:
        size = row["N"]
        if size in auto_measured:
            row["energy_default_seconds"], row["energy_default_extrapolated"] = auto_measured[size], False
        else:
            row["energy_default_seconds"] = auto_measured[largest_auto] * (size / largest_auto) ** 2
            row["energy_default_extrapolated"] = True
        base, per_perm = perm_fit.get(size, perm_fit[largest_perm])
        scale = 1.0 if size in perm_fit else (size / largest_perm) ** 2
        row["energy_perm1000_seconds"] = (base + 1000 * per_perm) * scale
        row["energy_perm1000_extrapolated"] = True  # always projected from a few permutations
        row["energy_perm1000_from_N"] = size if size in perm_fit else largest_perm
        row["speedup_vs_energy_perm1000"] = row["energy_perm1000_seconds"] / row["rise_seconds"]
        row["speedup_vs_energy_default"] = row["energy_default_seconds"] / row["rise_seconds"]
    return rows, {"d": d, "k": K, "energy_perm_fit": {str(s): {"base_s": b, "per_permutation_s": p}
                                                      for s, (b, p) in perm_fit.items()}}


def like_for_like(x: np.ndarray, y: np.ndarray, rounds: int) -> dict[str, Any]:
    """The asymptotic RISE test against hyppo Energy's default call (its χ² approximation) on the
    same data, in interleaved rounds so machine load hits both alike; the ratio is the median of
    the per-round ratios."""
    from hyppo.ksample import Energy

    timing = interleaved_timing({"rise": partial(RISE(RiseConfig(k=K)).test, x, y),
                                 "energy": partial(Energy().test, x, y)}, rounds=rounds, warmup=0)
    ratios = [e / r for e, r in zip(timing.times_s["energy"], timing.times_s["rise"], strict=True)]
    return {"rise_seconds_like_for_like": timing.median_s("rise"),
            "energy_default_seconds_like_for_like": timing.median_s("energy"),
            "speedup_like_for_like": timing.ratio("energy", "rise"), "like_for_like_ratios": ratios,
            "like_for_like_rounds": rounds}


def scale_study(ctx: BenchContext, settings: Settings) -> list[dict[str, Any]]:
    """One asymptotic RISE call (R^g, k-NN, k = 10, d = 100) per N in ``scale_sizes``: seconds,
    peak RSS and the rank matrix's non-zeros against the N × N float64 size it avoids."""
    rng = np.random.default_rng(ctx.seed + 3)
    rows = []
    for size in settings.scale_sizes:
        x, y = rng.normal(size=(size // 2, 100)), rng.normal(size=(size - size // 2, 100))
        with peak_memory(count_tensors=False) as peak:
            result, seconds = timed_call(partial(RISE(RiseConfig(k=K)).test, x, y))
        rss = peak.rss_bytes if peak.rss_bytes is not None else peak.process_peak_rss_bytes
        rows.append({"N": size, "d": 100, "rise_seconds": seconds, "peak_rss_gb": rss / 1e9,
                     "peak_rss_of_call": peak.rss_bytes is not None, "rank_nnz": int(result.ranks.nnz),
                     "dense_n_by_n_gb": size ** 2 * 8 / 1e9, "pvalue": result.pvalue})
    return rows


def mice_study(ctx: BenchContext, settings: Settings) -> tuple[list[list[Any]], dict[str, Any]]:
    """Genotype-vs-genotype RISE tests on the connectomes, and null splits."""
    from methodzoo.graphrank.mice import frobenius_distances, load_mice

    data = load_mice()
    distances = frobenius_distances(data.adjacency)  # (32, 32)
    genotypes = sorted(set(data.genotype.tolist()))
    permutations = settings.mice_permutations
    k = 3
    rows: list[list[Any]] = []
    for a_index, first in enumerate(genotypes):
        for second in genotypes[a_index + 1:]:
            chosen = np.flatnonzero((data.genotype == first) | (data.genotype == second))
            sub = distances[np.ix_(chosen, chosen)]
            labels = data.genotype[chosen] == first
            row: list[Any] = [f"{first} vs {second}"]
            for rank, graph in (("graph", "knn"), ("overall", "knn"), ("graph", "mst")):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SmallSampleWarning)
                    result = RISE(RiseConfig(k=k, rank=rank, graph=graph)).test(  # type: ignore[arg-type]
                        sub, labels, metric="precomputed", permutations=permutations, generator=ctx.seed)
                row.append(result.pvalue_permutation)
            rows.append(row)
    # The paper's brain-network application compares male and female subjects; here each genotype
    # has 4 + 4, so the pooled comparison is balanced over genotypes.
    row = ["female vs male (16 vs 16)"]
    for rank, graph in (("graph", "knn"), ("overall", "knn"), ("graph", "mst")):
        result = RISE(RiseConfig(k=k, rank=rank, graph=graph)).test(  # type: ignore[arg-type]
            distances, data.sex == "female", metric="precomputed", permutations=permutations,
            generator=ctx.seed)
        row.append(result.pvalue_permutation)
    rows.append(row)
    # Genotype dominates the distances; permuting sex only within genotype asks whether sex
    # matters once genotype is held fixed (the stratified null), not whether the pooled groups differ.
    row = ["female vs male, within genotype (stratified)"]
    for rank, graph in (("graph", "knn"), ("overall", "knn"), ("graph", "mst")):
        result = RISE(RiseConfig(k=k, rank=rank, graph=graph)).test(  # type: ignore[arg-type]
            distances, data.sex == "female", metric="precomputed", permutations=permutations,
            generator=ctx.seed, strata=data.genotype)
        row.append(result.pvalue_permutation)
    rows.append(row)
    rng = np.random.default_rng(ctx.seed + 2)
    splits = settings.mice_null_splits
    null_p = []
    for _ in range(splits):
        labels = np.zeros(32, dtype=bool)
        labels[rng.choice(32, 16, replace=False)] = True
        result = RISE(RiseConfig(k=k)).test(distances, labels, metric="precomputed", permutations=199,
                                            generator=rng)
        null_p.append(result.pvalue_permutation)
    null_rate = float(np.mean(np.array(null_p) <= ALPHA))
    return rows, {"k": k, "permutations": permutations, "null_splits": splits,
                  "null_split_rejection": null_rate, "null_split_pvalues": null_p}


def _plots(ctx: BenchContext, rates: dict[str, dict[str, float]], timing: list[dict[str, Any]]) -> list[Any]:
    from methodzoo.shared.plotting import pyplot, save_figure

    plt = pyplot()
    names = list(OURS + PEERS)
    cells = list(rates)
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(cells)), 3.8))
    width = 0.8 / len(names)
    for index, name in enumerate(names):
        ax.bar(np.arange(len(cells)) + index * width, [rates[c][name] for c in cells], width, label=name)
    ax.axhline(ALPHA, color="black", lw=0.8, ls="--")
    ax.set_xticks(np.arange(len(cells)) + 0.4 - width / 2, cells, fontsize=8)
    ax.set_ylabel("rejection rate at α = 0.05")
    ax.set_title("RISE vs hyppo: m = n = 50")
    ax.legend(fontsize=7, ncol=2)
    power_path = save_figure(fig, ctx.out_dir / "power.png", dpi=100)
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = [r["N"] for r in timing]
    ax.loglog(sizes, [r["rise_seconds"] for r in timing], "o-", label="RISE Rg-NN (asymptotic)")
    ax.loglog(sizes, [r["energy_default_seconds"] for r in timing], "s--",
              label="hyppo Energy default (χ² approx.)")
    ax.loglog(sizes, [r["energy_perm1000_seconds"] for r in timing], "^:",
              label="hyppo Energy 1,000 perms (projected)")
    ax.set_xlabel("N = m + n (d = 100)")
    ax.set_ylabel("seconds")
    ax.legend(fontsize=8)
    timing_path = save_figure(fig, ctx.out_dir / "timing.png", dpi=100)
    return [power_path, timing_path]


def run(ctx: BenchContext) -> BenchResult:
    notes: list[str] = []
    warm = warm_up_hyppo()
    notes.append(f"hyppo numba warm-up (compilation, excluded from timings): {warm:.1f} s")
    settings = ctx.settings(PROFILES)
    rates, power_details = power_study(ctx, settings)
    timing, timing_details = timing_study(ctx, settings)
    scale = scale_study(ctx, settings)
    tables = _tables(rates, timing, scale, power_details)
    notes += _notes(timing, power_details)
    details: dict[str, Any] = {"power": rates, "timing": timing, "scale": scale, **power_details,
                               **timing_details}
    metrics = _metrics(rates, timing, scale, power_details)
    try:
        mice_rows, mice_details = mice_study(ctx, settings)
        tables.append(Table(f"Mouse connectomes (Frobenius distance of log(1+w), k = 3, "
                            f"{mice_details['permutations']} permutations): permutation p-values",
                            ["comparison", "RISE Rg-NN", "RISE Ro-NN", "RISE Rg-MST"], mice_rows))
        genotype_rows = [r for r in mice_rows if not r[0].startswith("female")]
        metrics["mice_genotypes_max_pvalue_rg_nn"] = max(r[1] for r in genotype_rows)
        metrics["mice_sex_pvalue_rg_nn"] = next(r[1] for r in mice_rows if r[0].startswith("female"))
        metrics["mice_sex_stratified_pvalue_rg_nn"] = next(r[1] for r in mice_rows if "within genotype" in r[0])
        metrics["mice_null_split_rejection"] = mice_details["null_split_rejection"]
        notes.append(f"mice null check: {mice_details['null_splits']} random 16-vs-16 splits of all 32 "
                     f"mice, rejection rate at 0.05 = {mice_details['null_split_rejection']:.3f}")
        details["mice"] = {"rows": mice_rows, **mice_details}
    except DataNotFoundError as error:
        notes.append(f"mouse connectomes skipped: {error}")
    plots = _plots(ctx, rates, timing)
    return BenchResult(metrics=metrics, tables=tables, plots=plots, notes=notes, details=details,
                       verdicts=verdicts(rates, timing))


def _tables(rates: dict[str, dict[str, float]], timing: list[dict[str, Any]], scale: list[dict[str, Any]],
            power_details: dict[str, Any]) -> list[Table]:
    fr, mmd = power_details["fr_permutations"], power_details["mmd_permutations"]
    tables = [
        Table("Rejection rate at α = 0.05 (m = n = 50, k = 10)", ["setting", *OURS, *PEERS],
              [[cell, *[round(rates[cell][n], 3) for n in OURS + PEERS]] for cell in rates]),
        Table("How each peer is calibrated", ["test", "p-value from"],
              [[name, CALIBRATION[name].replace("fr_permutations", f"{fr}").replace("mmd_permutations", f"{mmd}")]
               for name in PEERS + RECORDED]),
    ]
    like = [r for r in timing if "speedup_like_for_like" in r]
    tables.append(Table(
        "Like for like, measured: asymptotic RISE (R^g, k-NN, k = 10) vs hyppo Energy's default call "
        "(χ² approximation), same data, interleaved rounds",
        ["N", "d", "rounds", "RISE s (median)", "hyppo Energy default s (median)", "speed-up (median of rounds)",
         "per-round speed-ups"],
        [[r["N"], 100, r["like_for_like_rounds"], round(r["rise_seconds_like_for_like"], 2),
          round(r["energy_default_seconds_like_for_like"], 2), f"{r['speedup_like_for_like']:.1f}x",
          ", ".join(f"{v:.1f}x" for v in r["like_for_like_ratios"])] for r in like]))
    tables.append(Table(
        "Seconds, d = 100 (RISE: R^g, k-NN, k = 10, asymptotic p-value; * = extrapolated ∝ N², not measured)",
        ["N", "RISE s", "peak RSS GB (RISE call)", "hyppo Energy default s", "hyppo Energy 1,000 perms s",
         "speed-up vs perms (extrapolated)", "speed-up vs default"],
        [[r["N"], round(r["rise_seconds"], 2), round(r["peak_rss_gb"], 2),
          f"{r['energy_default_seconds']:.3g}{'*' if r['energy_default_extrapolated'] else ''}",
          f"{r['energy_perm1000_seconds']:.3g}*", f"{r['speedup_vs_energy_perm1000']:.0f}x*",
          f"{r['speedup_vs_energy_default']:.1f}x{'*' if r['energy_default_extrapolated'] else ''}"]
         for r in timing]))
    if scale:
        tables.append(Table("Scale: one asymptotic RISE call (R^g, k-NN, k = 10, d = 100, float64, CPU), no N × N array",
                            ["N", "seconds", "peak RSS GB", "rank matrix non-zeros", "a dense N × N float64 would be GB"],
                            [[r["N"], round(r["rise_seconds"], 1), round(r["peak_rss_gb"], 2), r["rank_nnz"],
                              round(r["dense_n_by_n_gb"], 1)] for r in scale]))
    return tables


def _notes(timing: list[dict[str, Any]], power_details: dict[str, Any]) -> list[str]:
    notes = [
        "hyppo Energy 1,000 permutations: timed with 2 and 6 permutations at N = 1,000 and 2,000, fitted "
        "as base + per-permutation cost, projected to 1,000 permutations and, for larger N, scaled by "
        "(N / 2,000)^2 (both parts are O(N^2)); never run in full: every such figure is extrapolated.",
        "hyppo Energy default call uses its chi-square approximation (auto=True, n > 20), not permutations.",
        f"hyppo MMD (default: Gaussian kernel, median-heuristic bandwidth, chi-square approximation) vs hyppo "
        f"Energy on the same draws: |p difference| median {power_details['hyppo_mmd_vs_energy_median_pvalue_gap']:.4f},"
        f" max {power_details['hyppo_mmd_vs_energy_max_pvalue_gap']:.4f}; recorded, not shown as a second peer.",
    ]
    if not all(r["peak_rss_of_call"] for r in timing):
        notes.append("peak RSS: the kernel's peak mark could not be reset here, so the column is the "
                     "process's peak so far (earlier, larger runs included), not the RISE call's.")
    return notes


def _metrics(rates: dict[str, dict[str, float]], timing: list[dict[str, Any]], scale: list[dict[str, Any]],
             power_details: dict[str, Any]) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    d0 = power_details["dims"][0]
    metrics["type1_error"] = rates[f"null d={d0}"]["RISE Rg-NN"]
    for name in OURS + PEERS + RECORDED:
        key = name.lower().replace("hyppo ", "").replace(" ", "_").replace("-", "_")
        metrics[f"type1_error_{key}"] = rates[f"null d={d0}"][name]
    alternatives = [c for c in rates if not c.startswith("null")]
    metrics["power"] = float(np.mean([rates[c]["RISE Rg-NN"] for c in alternatives]))
    for cell in alternatives:
        setting = cell.replace(" d=", "_d")
        metrics[f"power_{setting}_rise_rg_nn"] = rates[cell]["RISE Rg-NN"]
        metrics[f"power_{setting}_rise_ro_nn"] = rates[cell]["RISE Ro-NN"]
        metrics[f"power_{setting}_best_peer"] = max(rates[cell][p] for p in PEERS)
        metrics[f"power_{setting}_mmd_gaussian_median"] = rates[cell]["MMD Gaussian median"]
    metrics["hyppo_mmd_vs_energy_max_pvalue_gap"] = power_details["hyppo_mmd_vs_energy_max_pvalue_gap"]
    at_10k = next(r for r in timing if r["N"] == LIKE_FOR_LIKE_N)
    metrics["seconds"] = at_10k["rise_seconds"]
    metrics["seconds_n10000_energy_perm1000_projected"] = at_10k["energy_perm1000_seconds"]
    metrics["speedup_n10000_vs_energy_perm1000"] = at_10k["speedup_vs_energy_perm1000"]
    metrics["speedup_n10000_vs_energy_default"] = at_10k["speedup_vs_energy_default"]
    if "speedup_like_for_like" in at_10k:
        metrics["speedup_n10000_like_for_like"] = at_10k["speedup_like_for_like"]
        metrics["seconds_n10000_like_for_like_rise"] = at_10k["rise_seconds_like_for_like"]
        metrics["seconds_n10000_like_for_like_energy_default"] = at_10k["energy_default_seconds_like_for_like"]
    if any(r["N"] == 20000 for r in timing):
        at_20k = next(r for r in timing if r["N"] == 20000)
        metrics["seconds_n20000"] = at_20k["rise_seconds"]
        metrics["peak_rss_gb_n20000"] = at_20k["peak_rss_gb"]
    for row in scale:
        metrics[f"seconds_n{row['N']}"] = row["rise_seconds"]
        metrics[f"peak_rss_gb_n{row['N']}"] = row["peak_rss_gb"]
    return metrics


SIZE_BAND = (0.03, 0.07)  # the target band of the type-I error at α = 0.05 (the issue's)
TARGET_SPEEDUP = 20.0  # over hyppo's Energy at N = 10,000: like for like, and against 1,000 permutations


def verdicts(rates: dict[str, dict[str, float]], timing: list[dict[str, Any]]) -> list[Verdict]:
    """The claim, part by part: size of the four RISE variants, power of RISE Rg-NN against the
    best peer on the scale and mixture alternatives, speed at N = 10,000 like for like (measured)
    and against 1,000 permutations (extrapolated)."""
    sizes = [rates[cell][name] for cell in rates if cell.startswith("null") for name in OURS[:4]]
    low, high = SIZE_BAND
    out = [Verdict("RISE keeps its size (R^g and R^o, k-NN and k-MST)",
                   held=all(low <= v <= high for v in sizes), measured=f"type-I error {min(sizes):.3f}–{max(sizes):.3f}",
                   target=f"in [{low}, {high}] at α = {ALPHA}")]
    hard = [cell for cell in rates if cell.split()[0] in ("scale", "mixture")]
    pairs = {cell: (rates[cell]["RISE Rg-NN"], max(rates[cell][p] for p in PEERS)) for cell in hard}
    ratios = [ours / peer for ours, peer in pairs.values() if peer > 0]
    out.append(Verdict("RISE Rg-NN is more powerful than distance and kernel tests on scale and mixture "
                       "alternatives", held=all(ours >= peer for ours, peer in pairs.values()),
                       measured="; ".join(f"{cell}: {ours:.3f} vs {peer:.3f}" for cell, (ours, peer) in pairs.items()),
                       target="power ≥ the best peer (Energy, Gaussian MMD, Friedman–Rafsky)",
                       ratio=min(ratios) if ratios else None))
    at_10k = next(r for r in timing if r["N"] == LIKE_FOR_LIKE_N)
    if "speedup_like_for_like" in at_10k:
        like = at_10k["speedup_like_for_like"]
        out.append(Verdict("like for like: the asymptotic test is faster than hyppo Energy's asymptotic call "
                           "at N = 10,000, d = 100", held=like >= TARGET_SPEEDUP,
                           measured=f"{at_10k['rise_seconds_like_for_like']:.1f} s vs "
                                    f"{at_10k['energy_default_seconds_like_for_like']:.1f} s: {like:.1f}× "
                                    f"(median of {at_10k['like_for_like_rounds']} interleaved rounds, measured)",
                           target=f"≥ {TARGET_SPEEDUP:.0f}× (the review measured 33× on a quiet machine)",
                           ratio=like / TARGET_SPEEDUP))
    speedup = at_10k["speedup_vs_energy_perm1000"]
    out.append(Verdict("extrapolated: the asymptotic test vs hyppo Energy with 1,000 permutations at N = 10,000",
                       held=speedup >= TARGET_SPEEDUP,
                       measured=f"{at_10k['rise_seconds']:.1f} s, {speedup:.0f}× faster (hyppo extrapolated, "
                                "not measured)",
                       target=f"≥ {TARGET_SPEEDUP:.0f}× faster than hyppo Energy with 1,000 permutations",
                       ratio=speedup / TARGET_SPEEDUP))
    return out


benchmark = Benchmark(
    name="graphrank",
    run=run,
    description="RISE rank tests vs hyppo Energy/MMD/Friedman-Rafsky: type-I error, power, speed, "
                "mouse connectomes",
    claim="graph-based rank tests keep their size and beat distance/kernel tests on scale and "
          "mixture alternatives in high dimension; the asymptotic test is fast at N = 10,000",
)
