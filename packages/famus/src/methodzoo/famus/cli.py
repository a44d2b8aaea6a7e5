"""``methodzoo famus ...``: train CE / MW-Net / FaMUS on noisy labels, inspect label noise."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``methodzoo famus`` with its ``train`` and ``noise`` subcommands."""
    from methodzoo.famus.config import MetaConfig, TrainConfig
    from methodzoo.shared.cli import add_common_arguments

    parser = subparsers.add_parser("famus", help="FaMUS / Meta-Weight-Net: learning with noisy labels")
    commands = parser.add_subparsers(dest="famus_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    train = commands.add_parser("train", help="train ce, mwnet or famus on noisy labels")
    add_common_arguments(train)  # TrainConfig.from_args reads --seed and --device back
    TrainConfig.add_arguments(train, exclude=("seed", "device"))
    MetaConfig.add_arguments(train)
    train.add_argument("--out", default=None, help="checkpoint folder (safetensors); enables --resume")
    train.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    train.set_defaults(handler=_train)

    noise = commands.add_parser("noise", help="draw noisy labels and show the transition matrix and realised rate")
    noise.add_argument("--noise", default="symmetric",
                       choices=["symmetric", "symmetric_incl_true", "symmetric_excl_true", "pairflip", "flip", "flip2"])
    noise.add_argument("--rate", type=float, default=0.4)
    noise.add_argument("--classes", type=int, default=10)
    noise.add_argument("--samples", type=int, default=10_000, help="labels to corrupt (balanced over classes)")
    add_common_arguments(noise, device=False)
    noise.set_defaults(handler=_noise)


def _train(args: argparse.Namespace) -> int:
    from methodzoo.famus.config import MetaConfig, TrainConfig
    from methodzoo.famus.train import fit
    from methodzoo.shared.cli import emit
    from methodzoo.shared.errors import ConfigError
    from methodzoo.shared.train import distributed_session

    config = TrainConfig.from_args(args)
    meta_config = MetaConfig.from_args(args)
    if args.resume and args.out is None:
        raise ConfigError("--resume needs --out (the checkpoint folder)")
    with distributed_session(config.device) as context:  # one process unless launched by torchrun
        result = fit(config, meta_config, checkpoint_dir=args.out, resume=args.resume, distributed=context)
    if not context.is_main:
        return 0

    def text(r: Any) -> str:
        lines = [f"method {r.method}: best test accuracy {r.best_accuracy:.4f}, last {r.last_accuracy:.4f} "
                 f"after {r.steps} steps",
                 f"noise: realised flip rate {r.realised_noise_rate:.4f} (expected {r.expected_noise_rate:.4f})"]
        if r.iteration_ms is not None:
            timing = f"median iteration {r.iteration_ms:.1f} ms"
            if r.meta_step_ms is not None:
                timing += f", virtual step {r.virtual_step_ms:.1f} ms, meta step {r.meta_step_ms:.1f} ms"
            lines.append(timing)
        if r.mean_active_layers is not None:
            lines.append(f"mean active layers per meta step: {r.mean_active_layers:.2f}")
        if args.out:
            lines.append(f"checkpoints in {args.out}")
        return "\n".join(lines)

    emit(result.to_dict(), as_json=args.json, text=lambda _: text(result))
    return 0


def _noise(args: argparse.Namespace) -> int:
    import torch

    from methodzoo.famus.noise import corrupt_labels
    from methodzoo.shared.cli import emit
    from methodzoo.shared.errors import ConfigError

    if args.classes < 2 or args.samples < 1:
        raise ConfigError("--classes must be >= 2 and --samples >= 1")
    labels = torch.arange(args.samples) % args.classes
    noisy = corrupt_labels(labels, args.classes, args.rate, args.noise, generator=args.seed)
    empirical = torch.zeros(args.classes, args.classes, dtype=torch.float64)
    empirical.index_put_((labels, noisy.labels), torch.ones(args.samples, dtype=torch.float64), accumulate=True)
    empirical /= empirical.sum(dim=1, keepdim=True).clamp_min(1)
    result = {"noise": args.noise, "rate": args.rate, "realised_rate": noisy.realised_rate,
              "expected_rate": noisy.expected_rate, "transition": noisy.transition.tolist(),
              "empirical_transition": empirical.tolist()}

    def text(r: dict[str, Any]) -> str:
        rows = "\n".join("  " + " ".join(f"{v:.3f}" for v in row) for row in r["empirical_transition"])
        return (f"{r['noise']} noise at p={r['rate']}: realised flip rate {r['realised_rate']:.4f} "
                f"(expected {r['expected_rate']:.4f})\nempirical transition matrix (rows: true class):\n{rows}")

    emit(result, as_json=args.json, text=text)
    return 0
