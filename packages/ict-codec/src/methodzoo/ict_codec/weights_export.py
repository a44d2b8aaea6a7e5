"""Turn trained weights (``train_release.sh``'s fp32 files) into the compact files the package ships.

    python -m methodzoo.ict_codec.weights_export OUT --report REPORT.json   # train_release.sh's OUT, into weights/

Each model is coded on the held-out photos before and after rounding its weights to float16; the
float16 file is kept only when it loses nothing measurable: PSNR drops by less than
``--max-psnr-loss`` dB and the actual bpp grows by less than ``--max-bpp-increase`` (relative);
otherwise float32 is shipped. (A float16 model that codes better is kept: the rule asks what it loses.)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from methodzoo.shared.errors import UserError


def _held_out(crop: int | None = None) -> list[tuple[str, Any]]:
    """The held-out photos, whole or as centre ``crop`` × ``crop`` crops (what the quick benchmark codes)."""
    from methodzoo.ict_codec.bench import held_out_images

    return held_out_images(crop)


def float16_loses_nothing(psnr_change_db: float, bpp_change_relative: float, *, max_psnr_loss: float = 0.01,
                          max_bpp_increase: float = 0.002) -> bool:
    """Whether float16 weights (PSNR and relative bpp change against float32) may ship: only a loss
    of quality counts, so a model that float16 happens to make better is kept."""
    return -psnr_change_db < max_psnr_loss and bpp_change_relative < max_bpp_increase


def export(source: Path, target: Path, *, max_psnr_loss: float = 0.01, max_bpp_increase: float = 0.002,
           crop: int | None = None) -> list[dict[str, Any]]:
    """Export the shipped files of the release trained into ``source`` (``release.shipped_files``) into
    ``target``; return the measurements."""
    from methodzoo.ict_codec.api import evaluate, load_model, save_compact_model, summarize
    from methodzoo.ict_codec.release import shipped_files

    files = shipped_files(source)
    missing = [str(path) for path in files.values() if not path.is_file()]
    if missing:
        raise UserError(f"{source} lacks trained release files (train_release.sh writes them): {', '.join(missing)}")
    images = _held_out(crop)
    rows = []
    target.mkdir(parents=True, exist_ok=True)
    for name, path in sorted(files.items()):
        model = load_model(path)
        full = summarize(evaluate(model, images))
        half_model = load_model(path)
        out = target / name
        source_name = str(path.relative_to(source))
        save_compact_model(out, half_model, half=True, metadata={"source": source_name})
        half = summarize(evaluate(load_model(out), images))
        psnr_change = half["psnr"] - full["psnr"]
        bpp_change = half["bpp"] / full["bpp"] - 1
        keep_half = float16_loses_nothing(psnr_change, bpp_change, max_psnr_loss=max_psnr_loss,
                                          max_bpp_increase=max_bpp_increase)
        if not keep_half:
            save_compact_model(out, model, half=False, metadata={"source": source_name})  # evaluate left it as trained
        rows.append({"file": name, "source": source_name, "dtype": "float16" if keep_half else "float32", "bytes": out.stat().st_size,
                     "psnr_fp32": full["psnr"], "bpp_fp32": full["bpp"], "psnr_fp16": half["psnr"],
                     "bpp_fp16": half["bpp"], "psnr_change_db": psnr_change, "bpp_change_relative": bpp_change})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    from methodzoo.ict_codec.pretrained import weights_folder
    from methodzoo.shared.io import atomic_write_text

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("source", type=Path, help="the OUT folder of train_release.sh (OUT/<preset>/<kind>-q<N>.safetensors)")
    parser.add_argument("--target", type=Path, default=None, help="output folder (default: the package's weights/)")
    parser.add_argument("--report", type=Path, default=None, help="JSON file for the measurements")
    parser.add_argument("--max-psnr-loss", type=float, default=0.01, help="dB float16 may lose")
    parser.add_argument("--max-bpp-increase", type=float, default=0.002, help="relative bpp float16 may add")
    parser.add_argument("--crop", type=int, default=None, help="measure on centre crops of this side (faster)")
    args = parser.parse_args(argv)
    rows = export(args.source, args.target or weights_folder(), max_psnr_loss=args.max_psnr_loss,
                  max_bpp_increase=args.max_bpp_increase, crop=args.crop)
    if args.report is not None:
        report = {"measured_on": f"centre {args.crop}px crops" if args.crop
                  else "whole photos", "models": rows}
        atomic_write_text(args.report, json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
