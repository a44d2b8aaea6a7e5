"""``methodzoo ict-codec {compress,decompress,eval,train}``."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path
from typing import Any

from methodzoo.shared.cli import add_common_arguments, emit
from methodzoo.shared.errors import UserError


def register(subparsers: Any) -> None:
    from methodzoo.ict_codec.config import KINDS, PRESETS, TrainConfig
    from methodzoo.ict_codec.release import add_release_arguments, run_release

    parser = subparsers.add_parser("ict-codec", help="ICT/AICT learned image codec (Ghorbel et al. 2023)")
    sub = parser.add_subparsers(dest="ict_command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("compress", help="code an image file into a bitstream")
    p.add_argument("input", help="image file (PNG, JPEG, PPM, ...)")
    p.add_argument("output", help="bitstream file to write")
    _weights_argument(p)
    _quality_arguments(p)
    p.add_argument("--scale-factor", type=float, default=None, metavar="F",
                   help="AICT: code with this scaling factor f instead of the predicted one (1 = no warp)")
    add_common_arguments(p, seed=False, device=False)
    p.set_defaults(handler=_compress)

    p = sub.add_parser("decompress", help="decode a bitstream into a PNG")
    p.add_argument("input", help="bitstream file")
    p.add_argument("output", help="image file to write (PNG)")
    _weights_argument(p, decode=True)
    p.add_argument("--max-pixels", type=int, default=None,
                   help="refuse bitstreams whose header asks for more pixels (default: 2^26)")
    add_common_arguments(p, seed=False, device=False)
    p.set_defaults(handler=_decompress)

    p = sub.add_parser("eval", help="code every image of a folder; actual/estimated bpp, PSNR, MS-SSIM, times")
    p.add_argument("folder", help="folder of images (Kodak, CLIC, ... or your own)")
    _weights_argument(p)
    _quality_arguments(p)
    add_common_arguments(p, seed=False, device=False)
    p.set_defaults(handler=_eval)

    p = sub.add_parser("train", help="train a codec on random crops of photos (offline photos by default)")
    p.add_argument("--out", required=True, help="folder for model.safetensors and checkpoints/")
    p.add_argument("--kind", choices=list(KINDS), default="ict")
    p.add_argument("--preset", choices=list(PRESETS), default="small", help="model size")
    p.add_argument("--data", default=None, help="folder of training images (default: offline photos)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    add_common_arguments(p)  # TrainConfig.from_args reads --seed back
    TrainConfig.add_arguments(p, exclude=("seed",))
    p.set_defaults(handler=_train)

    p = sub.add_parser("release", help="train the shipped weights' recipe, or one of its processes "
                                       "(--release-run; --peer-run: SwinT-ChARM by the same recipe)")
    add_release_arguments(p)
    p.set_defaults(handler=run_release)


def _weights_argument(parser: argparse.ArgumentParser, decode: bool = False) -> None:
    default = ("the shipped model named by the bitstream's header" if decode
               else "the shipped weights at --quality")
    parser.add_argument("--weights", required=False, default=None,
                        help=f"model file written by `methodzoo ict-codec train` (default: {default})")


def _quality_arguments(parser: argparse.ArgumentParser) -> None:
    from methodzoo.ict_codec.pretrained import DEFAULT_QUALITY

    parser.add_argument("--quality", type=int, default=None,
                        help=f"quality of the shipped weights, 1 (lowest rate) .. 4 (default: {DEFAULT_QUALITY})")
    parser.add_argument("--kind", choices=["ict", "aict"], default="ict",
                        help="shipped model kind (default: ict)")


def _load(args: argparse.Namespace) -> Any:
    from methodzoo.ict_codec.api import load_model
    from methodzoo.ict_codec.pretrained import DEFAULT_QUALITY, load_pretrained

    if args.weights is not None:
        if getattr(args, "quality", None) is not None:
            raise UserError("pass either --weights or --quality, not both")
        return load_model(args.weights)
    quality = DEFAULT_QUALITY if args.quality is None else args.quality
    return load_pretrained(quality, args.kind)


def _compress(args: argparse.Namespace) -> int:
    from methodzoo.ict_codec.api import compress
    from methodzoo.shared.data import load_image
    from methodzoo.shared.io import atomic_write_bytes
    from methodzoo.shared.timing import timed_call

    model = _load(args)
    image = load_image(args.input)
    data, seconds = timed_call(partial(compress, model, image, args.scale_factor))
    atomic_write_bytes(args.output, data)
    h, w = image.shape[:2]
    result = {"input": args.input, "output": args.output, "bytes": len(data), "height": h, "width": w,
              "bpp": 8 * len(data) / (h * w), "encode_ms": 1000 * seconds}
    emit(result, as_json=args.json,
         text=lambda r: f"{r['output']}: {r['bytes']} bytes, {r['bpp']:.4f} bpp ({r['encode_ms']:.0f} ms)")
    return 0


def _decompress(args: argparse.Namespace) -> int:
    from PIL import Image

    from methodzoo.ict_codec.api import decompress
    from methodzoo.ict_codec.bitstream import DEFAULT_MAX_PIXELS, check_pixel_limit, peek
    from methodzoo.ict_codec.pretrained import model_for_bitstream
    from methodzoo.shared.io import atomic_write
    from methodzoo.shared.timing import timed_call

    path = Path(args.input)
    if not path.is_file():
        raise UserError(f"bitstream file {path} does not exist")
    data = path.read_bytes()
    max_pixels = DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels
    if args.weights is None:
        header = peek(data)
        check_pixel_limit(header.height, header.width, max_pixels)
        model = model_for_bitstream(data)
    else:
        model = _load(args)
    image, seconds = timed_call(partial(decompress, model, data, max_pixels))
    atomic_write(args.output, lambda temp: Image.fromarray(image).save(temp, format="PNG"))
    result = {"input": args.input, "output": args.output, "height": image.shape[0], "width": image.shape[1],
              "decode_ms": 1000 * seconds}
    emit(result, as_json=args.json,
         text=lambda r: f"{r['output']}: {r['width']}x{r['height']} ({r['decode_ms']:.0f} ms)")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from methodzoo.ict_codec.api import evaluate, summarize
    from methodzoo.shared.data import load_image_folder
    from methodzoo.shared.progress import progress

    model = _load(args)
    images = load_image_folder(args.folder)
    rows = []
    for item in progress(images, desc="eval"):
        rows.extend(evaluate(model, [item]))
    result = {"images": rows, "mean": summarize(rows)}

    def text(r: dict[str, Any]) -> str:
        lines = [f"{'image':<20} {'bpp':>8} {'est.bpp':>8} {'PSNR':>7} {'MS-SSIM':>8} {'enc ms':>8} {'dec ms':>8}"]
        for row in [*r["images"], {"name": "mean", **r["mean"]}]:
            lines.append(f"{row['name']:<20} {row['bpp']:>8.4f} {row['bpp_estimated']:>8.4f} {row['psnr']:>7.2f} "
                         f"{row.get('ms_ssim', float('nan')):>8.4f} {row['encode_ms']:>8.0f} {row['decode_ms']:>8.0f}")
        return "\n".join(lines)

    emit(result, as_json=args.json, text=text)
    return 0


def _train(args: argparse.Namespace) -> int:
    import torch

    from methodzoo.ict_codec.api import save_model
    from methodzoo.ict_codec.config import CodecConfig, TrainConfig
    from methodzoo.ict_codec.model import build_model, parameter_count
    from methodzoo.ict_codec.train import fit
    from methodzoo.shared.data import load_image_folder, offline_photos
    from methodzoo.shared.train import distributed_session

    train_config = TrainConfig.from_args(args)
    config = CodecConfig.preset(args.preset, args.kind)
    out = Path(args.out)
    photos = load_image_folder(args.data) if args.data else offline_photos()
    torch.manual_seed(train_config.seed)
    model = build_model(config)
    with distributed_session(args.device) as context:  # one process unless launched by torchrun
        history = fit(model, [p.image for p in photos], train_config, checkpoint_dir=out / "checkpoints",
                      resume=args.resume, device=context.device, description=f"train {args.kind}",
                      distributed=context)
    if not context.is_main:
        return 0
    weights = save_model(out / "model.safetensors", model.cpu())
    train_config.save(out / "train_config.json")
    config.save(out / "model_config.json")
    last = {k: v[-1] for k, v in history.values.items() if v}
    result = {"weights": str(weights), "kind": args.kind, "preset": args.preset,
              "parameters": parameter_count(model), "steps": train_config.steps, "last": last}
    emit(result, as_json=args.json,
         text=lambda r: f"wrote {r['weights']} ({r['parameters']} parameters, {r['steps']} steps; "
                        f"last loss {r['last'].get('loss', float('nan')):.4g})")
    return 0
