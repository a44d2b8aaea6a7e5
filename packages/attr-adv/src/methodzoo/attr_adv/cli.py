"""``methodzoo attr-adv train|eval``.

    methodzoo attr-adv train --method agat --dataset digits-rts --epochs 12 --out runs/agat --json
    methodzoo attr-adv eval --checkpoint runs/agat --plot agat.png --corruptions
    methodzoo attr-adv eval --checkpoint runs/cifar --cifar10c /data --severities 5

``train`` evaluates on the held-out test split right away (clean, mean over held-out shifts, worst
grid point); ``eval`` adds the plot of accuracy against shift magnitude per attribute, the
imagecorruptions set (digits) and CIFAR-10-C (a local folder).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``methodzoo attr-adv ...`` (the entry point of group ``methodzoo.methods``)."""
    from methodzoo.attr_adv.config import AugMixConfig, InnerConfig, PGDConfig, TrainConfig

    parser = subparsers.add_parser("attr-adv", help="AGAT: attribute-guided adversarial training",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="attr_adv_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    train = commands.add_parser("train", help="train erm, random, agat, ce_ascent, augmix or pgd")
    train.add_argument("--out", required=True, help="folder for model.safetensors and config.json")
    train.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    TrainConfig.add_arguments(train)
    InnerConfig.add_arguments(train)
    PGDConfig.add_arguments(train)
    AugMixConfig.add_arguments(train)
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("eval", help="accuracy against shift magnitude (+ corruptions, CIFAR-10-C)")
    evaluate.add_argument("--checkpoint", required=True, help="folder written by `attr-adv train`")
    evaluate.add_argument("--grid", default=None, help="evaluation grid: digits-rts, digits-c, cifar-c "
                                                       "(default: the model's attribute space)")
    evaluate.add_argument("--plot", default=None, help="PNG path (default: <checkpoint>/accuracy_vs_shift.png)")
    evaluate.add_argument("--corruptions", action="store_true",
                          help="also imagecorruptions' common corruptions on the test split (bench extra)")
    evaluate.add_argument("--cifar10c", default=None, metavar="ROOT",
                          help="also CIFAR-10-C from ROOT (or ROOT/CIFAR-10-C)")
    evaluate.add_argument("--severities", type=int, nargs="+", default=[1, 2, 3, 4, 5],
                          help="severities of --corruptions / --cifar10c (default: 1 2 3 4 5)")
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    evaluate.set_defaults(handler=_eval)


def _grid_name(space_name: str | None, dataset: str) -> str:
    return space_name or {"digits-rts": "digits-rts", "digits-c": "digits-c", "cifar10": "cifar-c"}[dataset]


def _text(result: dict[str, Any]) -> str:
    lines = [f"clean {result['clean']:.4f}  held-out shifts {result['shift']:.4f}  "
             f"in range {result['in_range']:.4f}  worst {result['worst']:.4f}"]
    lines += [f"  {name}: {value:.4f}" for name, value in result.get("corruption_means", {}).items()]
    for key in ("checkpoint", "plot"):
        if result.get(key):
            lines.append(f"{key}: {result[key]}")
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:
    from methodzoo.attr_adv.config import AugMixConfig, InnerConfig, PGDConfig, TrainConfig
    from methodzoo.attr_adv.evaluation import evaluate_grid, shift_grid
    from methodzoo.attr_adv.train import fit, load_training_data, save_trained
    from methodzoo.shared.cli import emit

    config = TrainConfig.from_args(args)
    data = load_training_data(config)
    result = fit(config, inner=InnerConfig.from_args(args), pgd=PGDConfig.from_args(args),
                 augmix=AugMixConfig.from_args(args), data=data)
    folder = save_trained(args.out, result)
    grid = shift_grid(_grid_name(config.space, config.dataset), result.space)
    scores = evaluate_grid(result.model, data.test_images, data.test_labels, grid)
    out = {**result.summary(), "clean": scores.clean, "shift": scores.shift, "in_range": scores.in_range,
           "worst": scores.worst, "checkpoint": str(Path(folder).resolve())}
    emit(out, as_json=args.json, text=_text)
    return 0


def _eval(args: argparse.Namespace) -> int:
    from methodzoo.attr_adv.evaluation import accuracy_on, evaluate_grid, shift_grid, shifted_images
    from methodzoo.attr_adv.plots import plot_accuracy_vs_shift
    from methodzoo.attr_adv.train import load_trained, load_training_data
    from methodzoo.shared.cli import emit
    from methodzoo.shared.errors import ConfigError
    from methodzoo.shared.progress import progress

    if any(not 1 <= s <= 5 for s in args.severities):
        raise ConfigError(f"--severities must be in 1..5, got {args.severities}")
    trained = load_trained(args.checkpoint, device=args.device)
    data = load_training_data(trained.config)
    grid = shift_grid(args.grid or _grid_name(trained.config.space, trained.config.dataset), trained.space)
    shifted = [shifted_images(data.test_images, p) for p in progress(grid, desc="shift grid")]
    scores = evaluate_grid(trained.model, data.test_images, data.test_labels, grid, shifted=shifted)
    plot = plot_accuracy_vs_shift({trained.config.method: [scores]}, trained.space,
                                  args.plot or Path(args.checkpoint) / "accuracy_vs_shift.png",
                                  title=f"{trained.config.method} on {trained.config.dataset}")
    out: dict[str, Any] = {**scores.to_dict(), "plot": str(plot), "method": trained.config.method,
                           "corruption_means": {}}
    if args.corruptions:
        from methodzoo.attr_adv.corruptions import corrupt_images, corruption_names

        per = {}
        jobs = [(name, s) for name in corruption_names("common") for s in args.severities]
        for name, severity in progress(jobs, desc="imagecorruptions"):
            corrupted = corrupt_images(data.test_images, name, severity, seed=trained.config.seed)
            per[f"{name}@{severity}"] = accuracy_on(trained.model, corrupted, data.test_labels)
        out["corruptions"] = per
        out["corruption_means"]["imagecorruptions"] = sum(per.values()) / len(per)
    if args.cifar10c:
        from methodzoo.attr_adv.cifar10c import (
            CIFAR10C_CORRUPTIONS,
            available_corruptions,
            load_cifar10c,
        )

        per = {}
        present = available_corruptions(args.cifar10c)
        out["cifar10c_missing"] = [name for name in CIFAR10C_CORRUPTIONS if name not in present]
        for name in progress(present, desc="CIFAR-10-C"):
            for severity in args.severities:
                images = load_cifar10c(name, severity, root=args.cifar10c)
                per[f"{name}@{severity}"] = accuracy_on(trained.model, images.as_float(), images.labels)
        out["cifar10c"] = per
        common = [v for k, v in per.items() if k.split("@")[0] in CIFAR10C_CORRUPTIONS[:15]]
        if common:  # the 15 common corruptions, the set the CIFAR-10-C literature averages
            out["corruption_means"]["cifar10c_common"] = sum(common) / len(common)
        out["corruption_means"]["cifar10c_all_present"] = sum(per.values()) / len(per)
    emit(out, as_json=args.json, text=_text)
    return 0
