"""``methodzoo greedy-mm train|utilization``.

    methodzoo greedy-mm train --method balanced --epochs 5 --batch-size 64 --width 8 --out runs/bal
    methodzoo greedy-mm train --dataset basic-motions --method vanilla --epochs 30 --batch-size 8 --json
    methodzoo greedy-mm utilization --checkpoint runs/bal --json

``train`` prints one line per epoch (accuracies on every evaluation set, d_speed, d_util, the
share of re-balancing steps; on stderr with ``--json``), and with ``--out`` writes the weights,
``run.json`` and ``curves.png`` (d_util, d_speed and test accuracy over epochs). Every field of
the data, model, balancing and training configs is a flag (``methodzoo greedy-mm train --help``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``methodzoo greedy-mm`` with its ``train`` and ``utilization`` subcommands."""
    from methodzoo.greedy_mm.config import BalanceConfig, DataConfig, ModelConfig, TrainConfig
    from methodzoo.shared.cli import add_common_arguments

    parser = subparsers.add_parser("greedy-mm", help="greedy multi-modal learning: utilization, speed, balancing")
    commands = parser.add_subparsers(dest="greedy_mm_command", metavar="COMMAND", parser_class=type(parser))
    commands.required = True

    train = commands.add_parser("train", help="train a two-branch MMTM network (vanilla, balanced or random)")
    for config in (DataConfig, ModelConfig, BalanceConfig):
        config.add_arguments(train)
    TrainConfig.add_arguments(train, exclude=("seed",))
    train.add_argument("--out", default=None, help="folder for weights, run.json and curves.png")
    add_common_arguments(train)
    train.set_defaults(handler=_train)

    utilization = commands.add_parser("utilization", help="conditional utilization rates of a trained run")
    utilization.add_argument("--checkpoint", required=True, help="folder written by `train --out`")
    utilization.add_argument("--prediction", choices=["branch", "ensemble"], default=None,
                             help="what A(·) scores (default: the run's utilization_prediction)")
    add_common_arguments(utilization, seed=False)
    utilization.set_defaults(handler=_utilization)


def _train(args: argparse.Namespace) -> int:
    from methodzoo.greedy_mm.config import BalanceConfig, DataConfig, ModelConfig, TrainConfig
    from methodzoo.greedy_mm.runs import RunConfigs, build_run, save_run
    from methodzoo.greedy_mm.training import EpochLog, fit
    from methodzoo.shared.cli import emit

    configs = RunConfigs(DataConfig.from_args(args), ModelConfig.from_args(args), BalanceConfig.from_args(args),
                         TrainConfig.from_args(args))
    data, model = build_run(configs)
    stream = sys.stderr if args.json else sys.stdout

    def on_epoch(log: EpochLog) -> None:
        print(log.summary(), file=stream, flush=True)

    result = fit(model, data, balance=configs.balance, train=configs.train, device=args.device, on_epoch=on_epoch)
    history = [log.to_dict() for log in result.history]
    summary: dict[str, Any] = {"dataset": data.name, "modalities": list(data.modality_names), "epochs": len(history),
                               "stopped_early": result.stopped_early, "final": history[-1],
                               "mode_fractions": result.balancer.mode_fractions(), "configs": configs.to_dict()}
    if args.out:
        from pathlib import Path

        from methodzoo.greedy_mm.plots import plot_training_curves

        folder = save_run(args.out, result.model, configs, result.history)
        plot_training_curves({configs.balance.method: [history]}, Path(folder) / "curves.png",
                             title=f"{data.name}: {configs.balance.method}")
        summary["out"] = str(folder)
    summary["history"] = history

    def text(s: dict[str, Any]) -> str:
        final = s["final"]
        lines = [f"{s['dataset']} ({' vs '.join(s['modalities'])}), {configs.balance.method}: {s['epochs']} epochs"]
        for name, scores in final["evaluation"].items():
            lines.append(f"  {name} accuracy {scores['acc']:.4f} (ŷ0 {scores['acc_branch0']:.4f}, "
                         f"ŷ1 {scores['acc_branch1']:.4f})")
        if final["utilization"]:
            u = final["utilization"]
            lines.append(f"  u(m1|m0) {u['u_m1_given_m0']:+.4f}  u(m0|m1) {u['u_m0_given_m1']:+.4f}  "
                         f"d_util {u['d_util']:+.4f}")
        lines.append(f"  d_speed {final['d_speed']:+.4f}; steps regular / re-balance m0 / m1: "
                     + " / ".join(f"{v:.0%}" for v in s["mode_fractions"].values()))
        if "out" in s:
            lines.append(f"  wrote {s['out']}/model.safetensors, run.json, curves.png")
        return "\n".join(lines)

    emit(summary, as_json=args.json, text=text)
    return 0


def _utilization(args: argparse.Namespace) -> int:
    from methodzoo.greedy_mm.data.paired import BatchLoader
    from methodzoo.greedy_mm.runs import load_run
    from methodzoo.greedy_mm.utilization import squeeze_statistics, utilization_rates
    from methodzoo.shared.cli import emit

    configs, data, model, _ = load_run(args.checkpoint, args.device)
    prediction = args.prediction or configs.train.utilization_prediction
    batch = configs.train.eval_batch_size
    statistics = squeeze_statistics(model, BatchLoader(data.train, batch, workers=configs.train.workers))
    rates = {name: utilization_rates(model, BatchLoader(dataset, batch, workers=configs.train.workers),
                                     statistics, prediction=prediction).to_dict()
             for name, dataset in data.evaluation.items()}
    result = {"checkpoint": args.checkpoint, "dataset": data.name, "prediction": prediction,
              "train_samples": statistics.count, "rates": rates}

    def text(r: dict[str, Any]) -> str:
        lines = [f"{r['dataset']}: conditional utilization rates (A scores {r['prediction']}; train means from "
                 f"{r['train_samples']} samples)"]
        for name, u in r["rates"].items():
            lines.append(f"  {name}: A(m0,m1) {u['acc_joint0']:.4f} A(m0) {u['acc_alone0']:.4f} "
                         f"A(m1,m0) {u['acc_joint1']:.4f} A(m1) {u['acc_alone1']:.4f}  u(m1|m0) {u['u_m1_given_m0']:+.4f} "
                         f"u(m0|m1) {u['u_m0_given_m1']:+.4f} d_util {u['d_util']:+.4f}")
        return "\n".join(lines)

    emit(result, as_json=args.json, text=text)
    return 0
