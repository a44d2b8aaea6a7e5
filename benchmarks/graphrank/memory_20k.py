"""Time and peak memory of one asymptotic RISE test at N = 20,000, d = 100, in a fresh process.

    uv run --frozen python benchmarks/graphrank/memory_20k.py
"""

from __future__ import annotations

import resource
import time

import numpy as np

from methodzoo.graphrank import rise_test


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # Linux reports KiB


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, 100))
    y = rng.normal(size=(10_000, 100))
    before = peak_rss_gb()
    start = time.perf_counter()
    result = rise_test(x, y)
    seconds = time.perf_counter() - start
    print(f"N=20000 d=100 RISE Rg-NN k=10: {seconds:.1f} s, T={result.statistic:.3f}, "
          f"p={result.pvalue:.3f}, peak RSS {before:.2f} GB before, {peak_rss_gb():.2f} GB after "
          f"(one dense N x N float64 matrix: {20_000 ** 2 * 8 / 1e9:.1f} GB)")


if __name__ == "__main__":
    main()
