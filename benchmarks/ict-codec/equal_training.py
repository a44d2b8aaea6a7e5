"""ICT against AICT, SwinT-ChARM and Conv-ChARM trained with the same, smaller budget (issue 19).

    uv run --frozen python benchmarks/ict-codec/equal_training.py --train-dir DIR [--opencv-doc FOLDER]

Every kind is trained by ``compare_recipe`` (compact size, 64 px crops, one chain of 2000 + 3 × 500
steps, the release λ, data and seed; kinds in parallel processes, resumable), then coded with real
bitstreams on the benchmark's held-out photos (centre 256 px crops). Writes
``results/equal_training.json`` and ``results/equal_training.png``. These models are not shipped
(the wheel holds the release ICT and AICT); ``methodzoo bench ict-codec --profile full`` trains the
same set.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from methodzoo.ict_codec.bench import (
        COMPARED_KINDS,
        comparison_metrics,
        evaluate_curve,
        held_out_images,
        pillow_peers,
        plot_rd,
        train_comparison_set,
    )
    from methodzoo.ict_codec.release import compare_recipe, describe
    from methodzoo.shared.io import atomic_write_text
    from methodzoo.shared.plotting import pyplot, save_figure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-dir", type=Path, required=True, help="training output (resumable)")
    parser.add_argument("--opencv-doc", default=None, help="opencv-doc examples folder (optional photos)")
    parser.add_argument("--crop", type=int, default=256, help="centre crop of the test photos")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "equal_training.json")
    args = parser.parse_args()

    started = time.time()
    files = train_comparison_set(args.train_dir, opencv_doc=args.opencv_doc)
    trained = time.time() - started
    images = held_out_images(args.crop)
    curves = {kind: evaluate_curve({q: p for (k, q), p in files.items() if k == kind}, images, kind,
                                   with_ms_ssim=False).points for kind in COMPARED_KINDS}
    peers = pillow_peers(images)
    metrics = comparison_metrics(curves, peers)
    report = {
        "command": "uv run --frozen python benchmarks/ict-codec/equal_training.py --train-dir DIR "
                   "--opencv-doc FOLDER",
        "recipes": {kind: describe(compare_recipe(kind)) for kind in COMPARED_KINDS},
        "test": f"{', '.join(name for name, _ in images)}, centre {args.crop} px crops",
        "metrics": metrics, "curves": curves, "peers": peers,
        "train_seconds": trained, "total_seconds": time.time() - started,
    }
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.4))
    plot_rd(ax, curves, peers, "equal training budget (compare_recipe)")
    save_figure(fig, args.out.with_suffix(".png"))
    print(json.dumps(metrics, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
