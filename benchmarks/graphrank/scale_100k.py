"""One asymptotic RISE test (R^g, k-NN, k = 10) at N = 100,000, d = 100 on CPU, in a fresh process.

    uv run --frozen python benchmarks/graphrank/scale_100k.py [--n 100000] [--out results/scale-100k.json]

Checks that no N × N array is ever built: the k-NN search holds one ``block_rows`` × N block at a
time and the rank matrix is sparse (O(N·k) non-zeros). Writes the time, the peak RSS of the call
and the size a dense N × N float64 matrix would have had. (The committed
``results/scale-100k.json`` was written before the config was recorded; it ran with
``symmetrize="sum"``, the default then: see the benchmark README.)
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np

from methodzoo.graphrank import RISE, RiseConfig
from methodzoo.shared.bench import environment
from methodzoo.shared.memory import peak_memory
from methodzoo.shared.timing import timed_call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "scale-100k.json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.n // 2, args.d))
    y = rng.normal(size=(args.n - args.n // 2, args.d))
    config = RiseConfig(k=10)
    load_before = os.getloadavg()
    with peak_memory(count_tensors=False) as peak:
        result, seconds = timed_call(lambda: RISE(config).test(x, y))
    dense_gb = args.n ** 2 * 8 / 1e9
    record = {
        "N": args.n, "d": args.d, "config": config.to_dict(), "seconds": seconds, "statistic": result.statistic, "pvalue": result.pvalue,
        "rank_matrix_nnz": int(result.ranks.nnz),
        "peak_rss_gb_of_call": None if peak.rss_bytes is None else peak.rss_bytes / 1e9,
        "process_peak_rss_gb": peak.process_peak_rss_bytes / 1e9,
        "dense_n_by_n_float64_gb": dense_gb, "load_average_before": list(load_before),
        "load_average_after": list(os.getloadavg()), "environment": environment(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: v for k, v in record.items() if k != "environment"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
