"""ICT and AICT of the release against SwinT-ChARM trained by exactly the same processes (issue 19).

    benchmarks/ict-codec/train_release.sh peer PEER_OUT     # SwinT-ChARM by ICT's recipe, seeds, data and steps
    uv run --frozen python benchmarks/ict-codec/release_peer.py RELEASE_OUT PEER_OUT

RELEASE_OUT is ``train_release.sh release``'s output folder and PEER_OUT ``train_release.sh peer``'s
(:data:`~methodzoo.ict_codec.release.PEER_RUNS`), all float32 as trained. Every model is coded for real
on the held-out photos, whole and as the quick benchmark's centre 256 px crops; BD-rates on the
non-dominated points (PCHIP) with the shared PSNR range, also against JPEG and WebP. Writes
``results/release_peer.json`` and ``results/release_peer.png``. The peer is not shipped, so
``bench --profile quick`` cannot score it; ``--profile full`` trains and scores it alongside the release.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from methodzoo.ict_codec.bench import (
        RELEASE_KINDS,
        bd_rate_between,
        evaluate_curve,
        held_out_images,
        pillow_peers,
        plot_rd,
        release_peer_metrics,
    )
    from methodzoo.ict_codec.release import (
        PEER_KIND,
        PEER_RUNS,
        describe,
        peer_files,
        release_files,
    )
    from methodzoo.shared.errors import UserError
    from methodzoo.shared.io import atomic_write_text
    from methodzoo.shared.plotting import pyplot, save_figure

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("release", type=Path, help="train_release.sh release's OUT folder")
    parser.add_argument("peer", type=Path, help="train_release.sh peer's OUT folder")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "release_peer.json")
    args = parser.parse_args()

    files = release_files(args.release)
    files[PEER_KIND] = peer_files(args.peer)
    missing = [str(path) for by_quality in files.values() for path in by_quality.values() if not path.is_file()]
    if missing:
        raise UserError("trained weights missing (run train_release.sh release / peer first): " + ", ".join(missing))

    started = time.time()
    report: dict = {
        "command": "uv run --frozen python benchmarks/ict-codec/release_peer.py RELEASE_OUT PEER_OUT",
        "peer_recipes": [describe(run.recipe, run.trains) for run in PEER_RUNS], "sets": {},
    }
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, (name, crop) in zip(axes, (("whole photos", None), ("centre 256 px crops", 256)), strict=True):
        images = held_out_images(crop)
        curves = {kind: evaluate_curve(by_quality, images, kind, with_ms_ssim=False).points
                  for kind, by_quality in files.items()}
        pillow = pillow_peers(images)
        metrics = release_peer_metrics(curves, curves[PEER_KIND])
        value, overlap = bd_rate_between(curves["ict"], curves["aict"])
        metrics["bd_rate_aict_vs_ict"], metrics["bd_overlap_db_aict_vs_ict"] = value, overlap
        for kind in (*RELEASE_KINDS, PEER_KIND):  # the release's own claims, on this set
            for peer_name, points in pillow.items():
                key = f"{kind.replace('-', '_')}_vs_{peer_name}"
                metrics[f"bd_rate_{key}"], metrics[f"bd_overlap_db_{key}"] = bd_rate_between(points, curves[kind])
        metrics["params"] = {kind: {str(p["quality"]): p["params"] for p in points} for kind, points in curves.items()}
        report["sets"][name] = {"images": [n for n, _ in images], "metrics": metrics, "curves": curves,
                                "pillow": pillow}
        print(name, json.dumps({k: v for k, v in metrics.items() if k != "params"}), flush=True)
        plot_rd(ax, curves, pillow, f"release recipe, held-out {name}")
    report["seconds"] = time.time() - started
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    save_figure(fig, args.out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
