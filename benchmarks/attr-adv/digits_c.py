"""The quick comparison on digits-C: blur, noise, contrast and brightness instead of geometry.

Same arms, seeds and schedule as the registered benchmark (``methodzoo bench attr-adv``), with
the digits-C attribute space (blur σ ≤ 1, noise std ≤ 0.2, contrast 0.6–1.4, brightness ±0.2),
its held-out grid (blur to σ 2.5, noise to 0.5, contrast down to 0.2, brightness ±0.4), and
imagecorruptions' common corruptions (severities 3 and 5, the first 500 test digits of each seed,
zero-padded to 32×32) as a second, unseen test set.

    uv run --frozen python benchmarks/attr-adv/digits_c.py
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from methodzoo.attr_adv.bench import PROFILES, run_comparison
from methodzoo.shared.bench import BenchContext, environment


def main() -> None:
    out = Path("bench-out/attr-adv-digits-c")
    out.mkdir(parents=True, exist_ok=True)
    settings = PROFILES.quick.replace(datasets=("digits-c",), corruption_severities=(3, 5), corruption_test_size=500)
    result = run_comparison(BenchContext(profile="quick", out_dir=out), settings)
    for verdict in result.verdicts:
        print(verdict)
    for table in result.tables:
        print(table.to_markdown(), "\n")
    print("\n".join(result.notes))
    results = Path(__file__).parent / "results"
    for plot in result.plots:
        shutil.copyfile(plot, results / f"quick-{Path(plot).name}")
    (results / "quick-digits_c.json").write_text(json.dumps({
        "metrics": result.metrics, "settings": settings.to_dict(),
        "verdicts": [v.__dict__ for v in result.verdicts],
        "tables": [{"title": t.title, "columns": list(t.columns), "rows": t.rows} for t in result.tables],
        "notes": result.notes, "environment": environment()}, indent=1) + "\n")


if __name__ == "__main__":
    main()
