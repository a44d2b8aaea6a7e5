"""Run the famus benchmark and copy its results and plot into benchmarks/famus/results/.

    uv run --frozen python benchmarks/famus/run.py --profile quick

(the same as ``methodzoo bench famus --profile quick``, plus the copy).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from methodzoo.famus.bench import benchmark
from methodzoo.shared.bench import format_summary_table, run_benchmarks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", choices=["quick", "full"], default="quick")
    parser.add_argument("--out", default="bench-out/famus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    run = run_benchmarks(["famus"], profile=args.profile, out_dir=args.out, seed=args.seed, device=args.device,
                         benchmarks={"famus": benchmark})
    print(format_summary_table(run))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    out = Path(args.out)
    summary = json.loads((out / "results.json").read_text())
    details = json.loads((out / "famus" / "results.json").read_text())
    (results / f"{args.profile}.json").write_text(json.dumps({"summary": summary, **details}, indent=1) + "\n")
    shutil.copy(out / "report.md", results / f"{args.profile}_report.md")
    for plot in (out / "famus").glob("*.png"):
        shutil.copy(plot, results / f"{args.profile}_{plot.name}")


if __name__ == "__main__":
    main()
