"""Run the cud benchmark and copy its results and plots into benchmarks/cud/results/.

    uv run --frozen python benchmarks/cud/run.py [--profile quick|full] [--out bench-out] [--seed 0]

Equivalent to ``methodzoo bench cud --profile ...`` (which runs the same registered benchmark)
followed by the copy; it only loads this package's benchmark, so it also works while another
installed package's benchmark fails to import.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from methodzoo.cud.bench import benchmark
from methodzoo.shared.bench import format_summary_table, run_benchmarks

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--out", default="bench-out")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    run = run_benchmarks(["cud"], profile=args.profile, out_dir=args.out, seed=args.seed, device=args.device,
                         benchmarks={"cud": benchmark}, log=lambda m: print(m, file=sys.stderr))
    print(format_summary_table(run))
    target = HERE / "results"
    target.mkdir(exist_ok=True)
    summary = run.summary()
    (target / f"{args.profile}.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    report = (Path(args.out) / "report.md").read_text().replace("](cud/", f"]({args.profile}-")
    (target / f"{args.profile}-report.md").write_text(report)
    for plot in run.results["cud"].plots:
        shutil.copy(plot, target / f"{args.profile}-{Path(plot).name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
