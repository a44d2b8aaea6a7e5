"""``methodzoo rp-har encode|train|eval``.

    methodzoo rp-har encode --data trend-pairs --preset modrp-fft --image-size 64 --out grid.png
    methodzoo rp-har train --data trend-pairs --out runs/modrp --backbone small-cnn --image-size 32 \\
        --epochs 15 --batch-size 16 --optimizer adam --lr 3e-3 --lr-step 0
    methodzoo rp-har eval --checkpoint runs/modrp --json

Encodings (``--preset``): modrp-fft (rp-har's image, the default), modrp (signed modified RP),
varrp (Lu & Tong's code), rp (plain), gaf, mtf; any encoding flag changed from its default
overrides the preset. Data (``--data``): trend-pairs (synthetic), basic-motions,
pickup-gesture (offline), uci-har, wisdm, hmp (``--data-root`` folder).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from methodzoo.rp_har.config import EncodingConfig, TrainConfig
from methodzoo.shared.errors import UserError

PRESETS = {
    "modrp-fft": EncodingConfig.modified_rp_fft,
    "modrp": EncodingConfig.modified_rp,
    "varrp": EncodingConfig.lu_tong_code,
    "rp": EncodingConfig.plain_rp,
    "gaf": EncodingConfig.gaf,
    "mtf": EncodingConfig.mtf,
}
DATA_NAMES = ("trend-pairs", "basic-motions", "pickup-gesture", "uci-har", "wisdm", "hmp")
RUN_FILE = "run.json"


def register(subparsers: Any) -> None:
    """Add ``methodzoo rp-har ...`` (the entry point of group ``methodzoo.methods``)."""
    from methodzoo.shared.cli import add_common_arguments

    parser = subparsers.add_parser("rp-har", help="activity recognition from modified recurrence-plot images",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="rp_har_command", metavar="COMMAND", parser_class=type(parser))
    sub.required = True

    encode = sub.add_parser("encode", help="encode a data set and write a PNG grid of the images per class")
    _data_arguments(encode)
    encode.add_argument("--split", choices=["train", "test"], default="train")
    encode.add_argument("--per-class", type=int, default=4, help="windows shown per class (default: 4)")
    encode.add_argument("--out", default="encodings.png", help="PNG path (default: encodings.png)")
    encode.add_argument("--scale", type=int, default=1, help="pixel upscaling of the PNG (default: 1)")
    encode.add_argument("--tensors", default=None,
                        help="also save every image and label as safetensors at this path")
    encode.add_argument("--preset", choices=list(PRESETS), default="modrp-fft")
    add_common_arguments(encode, seed=False)
    EncodingConfig.add_arguments(encode)
    encode.set_defaults(handler=_encode)

    train = sub.add_parser("train", help="train a classifier, keep the best validation epoch, save it")
    _data_arguments(train)
    train.add_argument("--out", required=True, help="folder for model.safetensors and its config")
    train.add_argument("--preset", choices=list(PRESETS), default="modrp-fft")
    add_common_arguments(train, seed=False)
    EncodingConfig.add_arguments(train)
    TrainConfig.add_arguments(train)
    train.set_defaults(handler=_train)

    evaluate = sub.add_parser("eval", help="accuracy, macro-F1 and confusion of a saved model")
    evaluate.add_argument("--checkpoint", required=True, help="folder written by `rp-har train`")
    evaluate.add_argument("--data", choices=DATA_NAMES, default=None, help="default: the training data set")
    evaluate.add_argument("--data-root", default=None)
    evaluate.add_argument("--split", choices=["train", "test"], default="test")
    add_common_arguments(evaluate, seed=False)
    evaluate.set_defaults(handler=_eval)


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", choices=DATA_NAMES, default="trend-pairs")
    parser.add_argument("--data-root", default=None, help="folder of uci-har / wisdm / hmp files")
    parser.add_argument("--channels", type=int, nargs="+", default=[],
                        help="channel indices to use (default: all; basic-motions accelerometer: 0 1 2)")
    parser.add_argument("--data-seed", type=int, default=0,
                        help="seed of the synthetic set and of WISDM/HMP's subject-wise test split")


def _encoding(args: argparse.Namespace) -> EncodingConfig:
    from methodzoo.shared.presets import apply_changed_flags

    return apply_changed_flags(PRESETS[args.preset](), args)


def _load(args: argparse.Namespace, split: str) -> Any:
    from methodzoo.rp_har.data import load_series

    return load_series(args.data, split, root=args.data_root, channels=tuple(args.channels), seed=args.data_seed)  # type: ignore[arg-type]


def _encode(args: argparse.Namespace) -> int:
    from methodzoo.rp_har.encoder import encode
    from methodzoo.rp_har.grid import save_encoding_grid
    from methodzoo.shared.cli import emit
    from methodzoo.shared.device import resolve_device
    from methodzoo.shared.progress import progress

    if args.per_class < 1 or args.scale < 1:
        raise UserError("--per-class and --scale must be at least 1")
    config = _encoding(args)
    data = _load(args, args.split)
    device = resolve_device(args.device)
    start = time.perf_counter()
    batches = range(0, len(data), 256)
    parts = [encode(data.values[i:i + 256].to(device), config).cpu()
             for i in progress(batches, desc=f"encoding {args.data}", total=len(batches))]
    import torch

    images = torch.cat(parts)
    seconds = time.perf_counter() - start
    path = save_encoding_grid(images, data.labels, args.out, per_class=args.per_class,
                              num_classes=len(data.class_names), scale=args.scale)
    if args.tensors:
        from safetensors.torch import save_file

        save_file({"images": images.contiguous(), "labels": data.labels.contiguous()}, args.tensors,
                  metadata={"encoding": config.to_json(indent=None), "class_names": json.dumps(list(data.class_names))})
    result = {"path": str(path), "images": list(images.shape), "classes": list(data.class_names),
              "seconds": round(seconds, 4), "encoding": config.to_dict(), "tensors": args.tensors}
    emit(result, as_json=args.json,
         text=lambda r: f"encoded {r['images'][0]} windows as {r['images'][1]}×{r['images'][2]}×{r['images'][3]} "
                        f"images in {r['seconds']:.2f} s; grid (rows: {', '.join(r['classes'])}) in {r['path']}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from methodzoo.rp_har.training import fit
    from methodzoo.shared.cli import emit
    from methodzoo.shared.io import write_json

    config = TrainConfig.from_args(args)
    encoding = _encoding(args) if config.uses_images else None
    data = _load(args, "train")
    result = fit(data, config, encoding, device=args.device, description=f"rp-har {args.data}")
    result.classifier.save(args.out)
    write_json(Path(args.out) / RUN_FILE, {"data": args.data, "data_root": args.data_root,
                                           "channels": list(args.channels), "data_seed": args.data_seed})
    out = {"checkpoint": str(Path(args.out).resolve()), "best_epoch": result.best_epoch,
           "best_val_accuracy": result.best_val_accuracy, "train_windows": result.train_size,
           "val_windows": result.val_size, "seconds": round(result.seconds, 2),
           "history": result.history, "train": config.to_dict(),
           "encoding": None if encoding is None else encoding.to_dict()}
    emit(out, as_json=args.json,
         text=lambda r: f"trained on {r['train_windows']} windows; best validation accuracy "
                        f"{r['best_val_accuracy']:.3f} at epoch {r['best_epoch']} ({r['val_windows']} "
                        f"validation windows); model in {r['checkpoint']}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from methodzoo.rp_har.data import load_series
    from methodzoo.rp_har.training import RPHarClassifier, evaluate
    from methodzoo.shared.cli import emit

    folder = Path(args.checkpoint)
    classifier = RPHarClassifier.load(folder, device=args.device)
    run = json.loads((folder / RUN_FILE).read_text()) if (folder / RUN_FILE).is_file() else {}
    name = args.data or run.get("data")
    if name is None:
        raise UserError(f"{folder} does not say which data set it was trained on; pass --data")
    root = args.data_root if args.data_root is not None else run.get("data_root")
    data = load_series(name, args.split, root=root, channels=tuple(run.get("channels", ())),
                       seed=int(run.get("data_seed", 0)))
    metrics = evaluate(classifier, data)
    metrics.pop("predicted")
    out = {"checkpoint": str(folder), "data": name, "split": args.split, **metrics,
           "class_names": list(classifier.class_names)}
    emit(out, as_json=args.json,
         text=lambda r: f"{r['data']} {r['split']}: accuracy {r['accuracy']:.4f}, macro-F1 {r['macro_f1']:.4f} "
                        f"on {r['n']} windows")
    return 0
