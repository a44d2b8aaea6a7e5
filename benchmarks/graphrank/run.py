"""Run the graphrank benchmark and copy its results and plots into benchmarks/graphrank/results/.

    uv run --frozen python benchmarks/graphrank/run.py [--profile quick|full] [--seed 0]

Equivalent to ``methodzoo bench graphrank --profile ...`` (which runs the same registered
benchmark), plus the copy. It passes the benchmark explicitly, so it works while another
installed method's benchmark entry point is still broken.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from methodzoo.graphrank.bench import benchmark
from methodzoo.shared.bench import format_summary_table, run_benchmarks
from methodzoo.shared.io import write_json

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="bench-out")
    args = parser.parse_args()
    run = run_benchmarks(["graphrank"], profile=args.profile, out_dir=args.out, seed=args.seed,
                         benchmarks={"graphrank": benchmark})
    print(format_summary_table(run))
    result = run.results["graphrank"]
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    write_json(results / f"{args.profile}.json",
               {"metrics": result.metrics, "details": result.details, "notes": result.notes,
                "tables": [{"title": t.title, "columns": list(t.columns), "rows": t.rows}
                           for t in result.tables],
                "environment": run.environment})
    (results / f"{args.profile}-report.md").write_text(
        (Path(args.out) / "report.md").read_text().replace("graphrank/", f"{args.profile}-"))
    for plot in result.plots:
        shutil.copyfile(plot, results / f"{args.profile}-{Path(plot).name}")
    print(f"copied results and plots to {results}")


if __name__ == "__main__":
    main()
