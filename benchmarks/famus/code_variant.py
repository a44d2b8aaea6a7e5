"""The quick comparison again with the official code's candidate restriction.

The released FaMUS code gates only the last 15 parameter tensors of PreActResNet18 (its last
block) and keeps the final linear layer always on; everything earlier is detached. Here: the
last stage of the DeepCNN (3 convolutions + their BatchNorms = 9 tensors) plus the final linear
(2 tensors, always on), one gate per tensor. Everything else is the registered benchmark.

    uv run --frozen python benchmarks/famus/code_variant.py
"""

from __future__ import annotations

import json
from pathlib import Path

from methodzoo.famus.bench import PROFILES, run_comparison
from methodzoo.famus.config import MetaConfig
from methodzoo.shared.bench import BenchContext


def main() -> None:
    out = Path("bench-out/famus-code-variant")
    out.mkdir(parents=True, exist_ok=True)
    meta = MetaConfig(gate_granularity="parameter", candidate_layers=11, always_on_last=2)
    result = run_comparison(BenchContext(profile="quick", out_dir=out), meta, PROFILES.quick)
    for table in result.tables:
        print(table.to_markdown(), "\n")
    print("\n".join(result.notes))
    target = Path(__file__).parent / "results" / "quick-code_variant.json"
    target.write_text(json.dumps({"metrics": result.metrics, "meta_config": meta.to_dict(),
                                  "tables": [t.__dict__ for t in result.tables], "notes": result.notes},
                                 indent=1, default=list) + "\n")


if __name__ == "__main__":
    main()
