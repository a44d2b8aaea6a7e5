"""What AICT's scaling factor f does: the shipped AICT coded with its predicted f and with fixed ones.

    uv run --frozen python benchmarks/ict-codec/aict_scale.py [--out results/aict_scale.json]

Every shipped AICT quality codes the held-out photos (whole, and the quick benchmark's centre 256 px
crops) for real with the f its ResizeParamNet predicts and with each fixed f of ``--factors``
(the encoder may choose f: the stream carries it). BD-rates against the shipped ICT (PCHIP on the
non-dominated points) for the predicted f and for f = 1, where the warp is the identity. Writes
``results/aict_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    from methodzoo.ict_codec.api import evaluate, summarize
    from methodzoo.ict_codec.bench import bd_rate_between, held_out_images
    from methodzoo.ict_codec.pretrained import available, load_pretrained
    from methodzoo.shared.io import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--factors", type=float, nargs="+", default=[0.9, 0.95, 0.98, 1.0, 1.02, 1.05])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "aict_scale.json")
    args = parser.parse_args()

    started = time.time()
    qualities = sorted(q for kind, q in available() if kind == "aict")
    report: dict = {"command": "uv run --frozen python benchmarks/ict-codec/aict_scale.py",
                    "weights": "shipped (package weights/, float16)", "sets": {}}
    for name, crop in (("whole photos", None), ("centre 256 px crops", 256)):
        images = held_out_images(crop)
        ict, predicted, unit, rows = [], [], [], []
        for quality in qualities:
            point = summarize(evaluate(load_pretrained(quality=quality, kind="ict"), images, with_ms_ssim=False))
            ict.append({"quality": quality, "bpp": point["bpp"], "psnr": point["psnr"]})
            aict = load_pretrained(quality=quality, kind="aict")
            for f in [None, *args.factors]:
                coded = evaluate(aict, images, with_ms_ssim=False, scale_factor=f)
                point = summarize(coded)
                row = {"quality": quality, "f": "predicted" if f is None else f, "bpp": point["bpp"],
                       "psnr": point["psnr"], "f_used": [r["scale_factor"] for r in coded]}
                rows.append(row)
                if f is None:
                    predicted.append(row)
                if f == 1.0:
                    unit.append(row)
                print(name, json.dumps(row), flush=True)
        metrics = {}
        for key, curve in (("predicted_f", predicted), ("f_1", unit)):
            value, overlap = bd_rate_between(ict, curve) if curve else (None, 0.0)
            metrics[f"bd_rate_aict_{key}_vs_ict"], metrics[f"bd_overlap_db_aict_{key}_vs_ict"] = value, overlap
        print(name, json.dumps(metrics), flush=True)
        report["sets"][name] = {"images": [n for n, _ in images], "metrics": metrics, "ict": ict, "aict": rows}
    report["seconds"] = time.time() - started
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
