"""Time and peak memory of one asymptotic RISE test at N = 20,000, d = 100, in a fresh process.

    uv run --frozen python benchmarks/graphrank/memory_20k.py
"""

from __future__ import annotations

import numpy as np

from methodzoo.graphrank import rise_test
from methodzoo.shared.memory import peak_memory, process_peak_rss_bytes
from methodzoo.shared.timing import timed_call


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10_000, 100))
    y = rng.normal(size=(10_000, 100))
    before = process_peak_rss_bytes() / 1e9
    with peak_memory(count_tensors=False) as peak:
        result, seconds = timed_call(lambda: rise_test(x, y))
    print(f"N=20000 d=100 RISE Rg-NN k=10: {seconds:.1f} s, T={result.statistic:.3f}, "
          f"p={result.pvalue:.3f}, peak RSS {before:.2f} GB before, "
          f"{peak.process_peak_rss_bytes / 1e9:.2f} GB during the call "
          f"(one dense N x N float64 matrix: {20_000 ** 2 * 8 / 1e9:.1f} GB)")


if __name__ == "__main__":
    main()
