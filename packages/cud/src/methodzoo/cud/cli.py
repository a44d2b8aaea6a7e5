"""``methodzoo cud train|distill|sample|eval``.

    methodzoo cud train --data 8gaussians --out runs/cud --steps 2000 --ema-decay 0.99
    methodzoo cud train --data 8gaussians --out runs/cud --steps 4000 --resume   # continue
    methodzoo cud sample --checkpoint runs/cud --n 1000 --steps 2 --out samples.png
    methodzoo cud eval --checkpoint runs/cud --steps 1 2 4 8 16 --json
    methodzoo cud distill --checkpoint runs/cud --out runs/cud-1step --steps-per-stage 500
    torchrun --nproc-per-node 2 -m methodzoo.shared.cli cud train --data 8gaussians --out runs/cud2

Network presets (``--network``): auto (MLP for 2-D data, the paper's MNIST U-Net for 28×28,
the paper's CIFAR-10 U-Net for 32×32), mlp, tiny-unet, mnist-paper, cifar10-paper. Flags of the
configs left at their defaults keep the preset's values.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from methodzoo.cud.config import SOLVERS, CUDConfig, NetworkConfig, OneStepConfig, TrainConfig
from methodzoo.shared.cli import add_common_arguments
from methodzoo.shared.errors import UserError
from methodzoo.shared.presets import apply_changed_flags

NETWORK_PRESETS = ("auto", "mlp", "tiny-unet", "mnist-paper", "cifar10-paper")


def register(subparsers: Any) -> None:
    """Add ``methodzoo cud ...`` (the entry point of group ``methodzoo.methods``)."""
    parser = subparsers.add_parser("cud", help="Catch-Up Distillation (few-step velocity models)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cud_command", metavar="COMMAND", parser_class=type(parser))
    sub.required = True

    train = sub.add_parser("train", help="train a CUD (or flow-matching) model; resumable")
    train.add_argument("--data", default="8gaussians",
                       help="8gaussians, gmm, checkerboard, moons, mnist-digits (offline), mnist, "
                            "fashion-mnist, cifar10 (local folder), sklearn-digits")
    train.add_argument("--data-root", default=None, help="folder with mnist/ or cifar-10-batches-py/")
    train.add_argument("--limit", type=int, default=None, help="use only this many training images")
    train.add_argument("--out", required=True, help="checkpoint folder")
    train.add_argument("--method", choices=["cud", "fm"], default="cud",
                       help="cud, or fm: plain flow matching (ω1 = 0, independent coupling)")
    train.add_argument("--network", choices=NETWORK_PRESETS, default="auto", help="network preset")
    train.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    _accumulate(train)
    add_common_arguments(train)  # TrainConfig.from_args reads --seed back
    CUDConfig.add_arguments(train)
    NetworkConfig.add_arguments(train)
    TrainConfig.add_arguments(train, exclude=("seed",))
    train.set_defaults(handler=_train)

    distill = sub.add_parser("distill", help="the one-step training stage from a trained CUD model")
    distill.add_argument("--checkpoint", required=True, help="folder of a `cud train` run")
    distill.add_argument("--out", required=True, help="checkpoint folder of the one-step student")
    distill.add_argument("--resume", action="store_true")
    _accumulate(distill)
    add_common_arguments(distill)
    OneStepConfig.add_arguments(distill)
    TrainConfig.add_arguments(distill, exclude=("steps", "warmup_steps", "seed"))
    distill.set_defaults(handler=_distill)

    sample = sub.add_parser("sample", help="draw samples and save a PNG grid (images) or scatter (2-D)")
    sample.add_argument("--checkpoint", required=True)
    sample.add_argument("--out", default="samples.png", help="PNG path")
    sample.add_argument("--n", type=int, default=64, help="number of samples")
    _sampler(sample)
    sample.set_defaults(handler=_sample)

    evaluate = sub.add_parser("eval", help="sample quality against the number of steps")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--n", type=int, default=2000, help="samples per step count")
    evaluate.add_argument("--data-root", default=None)
    _sampler(evaluate, many_steps=True)
    evaluate.set_defaults(handler=_eval)


def _accumulate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accumulate", type=int, default=1,
                        help="micro-batches per optimizer step on each process (gradient accumulation); "
                             "under torchrun the batch splits into processes × accumulate micro-batches")


def _sampler(parser: argparse.ArgumentParser, many_steps: bool = False) -> None:
    if many_steps:
        parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4, 8, 16], help="step counts N")
    else:
        parser.add_argument("--steps", type=int, default=16, help="number of steps N (heun: odd NFE)")
    parser.add_argument("--solver", choices=SOLVERS, default="euler")
    parser.add_argument("--head", type=int, default=1, help="head g_k used as the velocity")
    parser.add_argument("--raw", action="store_true", help="use the raw weights instead of the EMA")
    add_common_arguments(parser)


def network_preset(name: str, data_shape: tuple[int, ...]) -> NetworkConfig:
    if name == "auto":
        name = "mlp" if len(data_shape) == 1 else ("cifar10-paper" if data_shape[-1] == 32 else "mnist-paper")
    return {"mlp": NetworkConfig.mlp, "tiny-unet": NetworkConfig.tiny_unet,
            "mnist-paper": NetworkConfig.mnist_paper, "cifar10-paper": NetworkConfig.cifar10_paper}[name]()


def _train(args: argparse.Namespace) -> int:
    from methodzoo.cud.data import load_training_data
    from methodzoo.cud.training import fit
    from methodzoo.shared.cli import emit
    from methodzoo.shared.train import distributed_session

    data = load_training_data(args.data, root=args.data_root, limit=args.limit)
    cud = apply_changed_flags(CUDConfig.flow_matching() if args.method == "fm" else CUDConfig(), args)
    network = apply_changed_flags(network_preset(args.network, data.data_shape), args)
    train = TrainConfig.from_args(args)
    with distributed_session(args.device) as context:  # one process unless launched by torchrun
        run = fit(data, cud, network, train, checkpoint_dir=args.out, resume=args.resume, device=context.device,
                  description=f"{args.method} {args.data}", accumulation=args.accumulate, distributed=context)
    if not context.is_main:
        return 0
    losses = run.history.loss
    tail = losses[-min(len(losses), 50):]
    result = {"checkpoint": str(Path(args.out).resolve()), "step": run.trainer.step,
              "final_loss": sum(tail) / len(tail) if tail else None, "data": args.data,
              "cud": cud.to_dict(), "network": network.to_dict(), "train": train.to_dict()}
    emit(result, as_json=args.json,
         text=lambda r: f"trained {r['data']} to step {r['step']}; mean loss of the last steps "
                        f"{r['final_loss']:.4g}; checkpoint in {r['checkpoint']}")
    return 0


def _distill(args: argparse.Namespace) -> int:
    from methodzoo.cud.onestep import distill_one_step
    from methodzoo.cud.training import load_trained
    from methodzoo.shared.cli import emit
    from methodzoo.shared.train import distributed_session

    config = OneStepConfig.from_args(args)
    train = TrainConfig.from_args(args, steps=1)
    with distributed_session(args.device) as context:  # one process unless launched by torchrun
        loaded = load_trained(args.checkpoint, device=context.device)
        result = distill_one_step(loaded.model, config, train, device=context.device, checkpoint_dir=args.out,
                                  resume=args.resume, run_config=loaded.config, accumulation=args.accumulate,
                                  distributed=context)
    if not context.is_main:
        return 0
    values = result.history.values.get("loss_distill", [])
    out = {"checkpoint": str(Path(args.out).resolve()), "step": result.trainer.step,
           "final_distill_loss": values[-1] if values else None}
    emit(out, as_json=args.json, text=lambda r: f"one-step student at step {r['step']} in {r['checkpoint']}")
    return 0


def _load(args: argparse.Namespace) -> Any:
    from methodzoo.cud.training import load_trained

    if args.head < 1:
        raise UserError(f"--head must be >= 1, got {args.head}")
    return load_trained(args.checkpoint, use_ema=not args.raw, device=args.device)


def _sample(args: argparse.Namespace) -> int:
    import torch

    from methodzoo.cud.data import model_to_images
    from methodzoo.cud.plots import save_scatter_grid
    from methodzoo.cud.solvers import sample
    from methodzoo.shared.cli import emit
    from methodzoo.shared.plotting import save_image_grid

    loaded = _load(args)
    result = sample(loaded.model, args.n, steps=args.steps, solver=args.solver, head=args.head,
                    generator=torch.Generator().manual_seed(args.seed))
    if result.samples.ndim == 4:
        path = save_image_grid(model_to_images(result.samples), args.out, scale=2)
    else:
        path = save_scatter_grid([(f"{args.solver} N={args.steps} (NFE {result.nfe})", result.samples)],
                                 args.out, columns=1)
    out = {"path": str(path), "n": args.n, "steps": args.steps, "solver": args.solver, "nfe": result.nfe,
           "weights": "ema" if loaded.used_ema else "raw"}
    emit(out, as_json=args.json, text=lambda r: f"wrote {r['n']} samples ({r['solver']}, NFE {r['nfe']}) "
                                                f"to {r['path']}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from methodzoo.cud.data import load_training_data
    from methodzoo.cud.evaluation import evaluate_steps
    from methodzoo.shared.cli import emit

    loaded = _load(args)
    data = load_training_data(loaded.config["data"], root=args.data_root)
    rows = evaluate_steps(loaded.model, data, args.steps, solver=args.solver, n=args.n, head=args.head,
                          seed=args.seed)
    out = {"checkpoint": args.checkpoint, "weights": "ema" if loaded.used_ema else "raw", "rows": rows}

    def text(result: dict[str, Any]) -> str:
        keys = [k for k in result["rows"][0] if k != "steps"]
        lines = ["steps  " + "  ".join(f"{k:>10}" for k in keys)]
        for row in result["rows"]:
            lines.append(f"{row['steps']:>5}  " + "  ".join(f"{row[k]:>10.4g}" for k in keys))
        return "\n".join(lines)

    emit(out, as_json=args.json, text=text)
    return 0
