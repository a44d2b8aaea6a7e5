"""The structured sweep (CAP-f against CE+KD, heads and FFN neurons) at the quick profile's scale.

The registered quick profile runs the unstructured arms only; the full profile adds this sweep at
its own (GPU) scale. This script runs the sweep on the quick profile's teacher (read from the
benchmark's cache when ``methodzoo bench cap-prune`` ran first, else fine-tuned here), one seed,
the two arms side by side, and writes ``results/structured.json``:

    uv run --frozen python benchmarks/cap-prune/structured.py
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from pathlib import Path

from methodzoo.cap_prune.bench import PROFILES, structured_sweep
from methodzoo.shared.bench import BenchContext
from methodzoo.shared.io import write_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratios", default="0.2,0.4,0.6,0.8", help="shares of heads and FFN neurons to prune")
    parser.add_argument("--epochs", type=float, default=1.0, help="retraining epochs after each pruning step")
    parser.add_argument("--bench-out", type=Path, default=Path("bench-out"), help="where the benchmark's cache is")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "structured.json")
    args = parser.parse_args()

    settings = PROFILES.quick.replace(structured_ratios=tuple(float(r) for r in args.ratios.split(",")),
                                      structured_epochs=args.epochs)
    context = BenchContext(profile="quick", out_dir=args.bench_out / "cap-prune", show_progress=True)
    started = time.perf_counter()
    dense, sweep = structured_sweep(context, settings)
    rows = {arm: [{**asdict(step), "retained": None if step.accuracy is None else round(step.accuracy / dense, 4)}
                  for step in steps] for arm, steps in sweep.items()}
    write_json(args.out, {"settings": settings.to_dict(), "acc_dense": dense, "arms": rows,
                          "seconds": round(time.perf_counter() - started, 1)})
    for arm, steps in rows.items():
        print(arm, [(s["ratio"], s["accuracy"], s["retained"]) for s in steps])


if __name__ == "__main__":
    main()
