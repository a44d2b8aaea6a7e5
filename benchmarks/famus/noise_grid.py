"""The quick benchmark's arms and sizes under 60 % symmetric and 40 % pair-flip noise.

The registered quick profile runs only 40 % symmetric noise (five arms × five seeds fill its time
budget); the full profile runs all three settings at a larger size. This script runs the two other
settings at the quick size (5 seeds each), with a one-round ResNet-32 timing it does not report.

    uv run --frozen python benchmarks/famus/noise_grid.py [sym60] [pair40]   # default: both

Writes ``results/quick-noise_grid-<settings>.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from methodzoo.famus.bench import PROFILES, run_comparison
from methodzoo.famus.config import MetaConfig
from methodzoo.shared.bench import BenchContext


def main(argv: list[str] | None = None) -> None:
    torch.set_num_threads(1)
    chosen = tuple(argv if argv is not None else sys.argv[1:]) or ("sym60", "pair40")
    out = Path("bench-out/famus-noise-grid")
    out.mkdir(parents=True, exist_ok=True)
    settings = PROFILES.quick.replace(noise_settings=chosen, timing_rounds=1)
    result = run_comparison(BenchContext(profile="quick", out_dir=out), MetaConfig(), settings)
    for table in result.tables[:2]:
        print(table.to_markdown(), "\n")
    keep = {k: v for k, v in result.metrics.items() if k.endswith(tuple(f"_{s}" for s in chosen))}
    target = Path(__file__).parent / "results" / f"quick-noise_grid-{'-'.join(chosen)}.json"
    command = " ".join(["uv run --frozen python benchmarks/famus/noise_grid.py", *chosen])
    target.write_text(json.dumps({"command": command,
                                  "profile": settings.to_dict(), "metrics": keep,
                                  "curves": result.details["runs"],
                                  "tables": [t.__dict__ for t in result.tables[:2]]}, indent=1, default=list) + "\n")


if __name__ == "__main__":
    main()
