"""What each training pass of the release bought: the trained files scored on the held-out photos.

    uv run --frozen python benchmarks/ict-codec/passes.py OUT [--out results/passes.json]

OUT is ``train_release.sh``'s output folder. Every release run whose first quality is trained in
several passes (quality 4 of compact-mid, quality 2 of compact) has its earlier passes as
``OUT/<preset>/<kind>-q<N>-pass<k>.safetensors`` and the last as ``<kind>-q<N>.safetensors``, float32
as trained. Each is coded for real on the held-out whole photos and on the quick benchmark's centre
256 px crops.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from methodzoo.ict_codec.api import evaluate, load_model, summarize
    from methodzoo.ict_codec.bench import held_out_images
    from methodzoo.ict_codec.release import RELEASE_RUNS, release_folder
    from methodzoo.shared.errors import UserError
    from methodzoo.shared.io import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="train_release.sh's OUT folder")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "passes.json")
    args = parser.parse_args()
    images = {"whole photos": held_out_images(None), "centre 256 px crops": held_out_images(256)}
    rows = []
    for run in RELEASE_RUNS:
        passes = [s for s in run.recipe.stages() if s.quality == run.trains[0]]
        if len(passes) < 2:
            continue
        folder = release_folder(args.source, run.recipe)
        for stage in passes:
            path = folder / stage.file_name(run.recipe.kind)
            if not path.is_file():
                raise UserError(f"{path} is missing: train the release into {args.source} first")
            model = load_model(path)
            row = {"kind": run.recipe.kind, "quality": stage.quality, "pass": stage.pass_number,
                   "steps": stage.steps, "file": str(path.relative_to(args.source))}
            for name, imgs in images.items():
                summary = summarize(evaluate(model, imgs, with_ms_ssim=False))
                row[name] = {"bpp": summary["bpp"], "psnr": summary["psnr"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    atomic_write_text(args.out, json.dumps({"models": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
