"""CUD against flow matching on MNIST at a budget where samples look like digits (issue 18).

The quick benchmark's MNIST arms (240 flow-matching iterations of a 68k-parameter U-Net) give
strokes and blobs, not digits. This script trains the arms that the target compares — ``fm_vae``
(flow matching with CUD's VAE coupling, ODE loss only) and ``cud`` (the paper's setting: order 1,
T = 16, VAE coupling); ``--arms fm,fm_vae,cud`` adds flow matching with independent noise — at one
equal budget of network evaluations (NFE; CUD order 1 costs 2 per sample and iteration, so it runs
half the iterations), then scores each with the core's classifier-feature Fréchet distance at 1,
2, 4 and 16 Euler steps and draws a grid of samples (a row of real digits first).

    uv run --frozen python benchmarks/cud/digits.py                 # the recorded run
    uv run --frozen python benchmarks/cud/digits.py --fm-steps 200  # a smoke run

Writes ``benchmarks/cud/results/digits.json`` and ``digits-samples.png`` (``--out`` to change).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from methodzoo.cud import (
    NetworkConfig,
    TrainConfig,
    cud_nfe_per_sample,
    fit,
    load_training_data,
    sample,
)
from methodzoo.cud.bench import FM_INDEPENDENT, FM_VAE, VAE
from methodzoo.cud.data import model_to_images
from methodzoo.cud.evaluation import sample_quality
from methodzoo.cud.nfe import iterations_for_budget
from methodzoo.shared.io import write_json
from methodzoo.shared.plotting import save_image_grid
from methodzoo.shared.timing import cpu_seconds

STEPS = (1, 2, 4, 16)
ARMS = {"fm": FM_INDEPENDENT, "fm_vae": FM_VAE, "cud": VAE}  # the benchmark's arms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arms", default="fm_vae,cud", help=f"comma-separated, of {', '.join(ARMS)}")
    parser.add_argument("--fm-steps", type=int, default=2000, help="flow-matching iterations (sets the NFE budget)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--channels", type=int, default=16, help="U-Net base channels (the paper's MNIST net: 32)")
    parser.add_argument("--images", type=int, default=4500, help="training digits")
    parser.add_argument("--samples", type=int, default=1000, help="samples per score")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--ema", type=float, default=0.995)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()

    torch.set_num_threads(1)  # one core per run; the recorded run went alongside other work
    digits = load_training_data("mnist-digits", limit=args.images)
    network = NetworkConfig.mnist_paper().replace(model_channels=args.channels, dropout=0.0)
    budget = args.fm_steps * args.batch * cud_nfe_per_sample(ARMS["fm_vae"])
    reference = digits.reference(args.samples, torch.Generator().manual_seed(args.seed + 1_000))
    real = digits.reference(args.samples, torch.Generator().manual_seed(args.seed + 2_000))
    scores: dict[str, dict[str, float]] = {
        "real": {"fd_digits": sample_quality(digits, real, reference, args.seed)["fd_digits"]}}
    runs: dict[str, dict[str, float]] = {}
    rows = [model_to_images(real[:10])]
    arms = {name: ARMS[name] for name in args.arms.split(",")}
    if not {"fm_vae", "cud"} <= set(arms):
        parser.error("--arms must include fm_vae and cud (the ratio compares them)")
    for name, config in arms.items():
        per_sample = cud_nfe_per_sample(config)
        steps = iterations_for_budget(budget, per_sample, args.batch)
        train = TrainConfig(steps=steps, batch_size=args.batch, lr=args.lr, ema_decay=args.ema, seed=args.seed)
        started, cpu = time.perf_counter(), cpu_seconds()
        run = fit(digits, config, network, train, description=name)
        runs[name] = {"iterations": steps, "nfe_train": steps * per_sample * args.batch,
                      "train_seconds": round(time.perf_counter() - started, 1),
                      "train_cpu_seconds": round(cpu_seconds() - cpu, 1)}
        scores[name] = {}
        for count in STEPS:
            result = sample(run.sampling_model, args.samples, steps=count, solver="euler",
                            generator=torch.Generator().manual_seed(args.seed), data_shape=digits.data_shape)
            samples = result.samples.cpu()
            scores[name][f"fd_{count}"] = round(sample_quality(digits, samples, reference, args.seed)["fd_digits"], 2)
            rows.append(model_to_images(samples[:10]))
        print(name, runs[name], scores[name], flush=True)
    ratios = {f"fd_ratio_cud_fm_vae_{n}": round(scores["cud"][f"fd_{n}"] / scores["fm_vae"][f"fd_{n}"], 3)
              for n in STEPS}
    args.out.mkdir(parents=True, exist_ok=True)
    grid = save_image_grid(torch.cat(rows), args.out / "digits-samples.png", columns=10, scale=2)
    write_json(args.out / "digits.json", {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "network": network.to_dict(), "budget_nfe": budget, "runs": runs, "scores": scores, "ratios": ratios,
        "grid": grid.name, "grid_rows": ["real digits", *[f"{n} N={s}" for n in arms for s in STEPS]],
        "torch": torch.__version__, "threads": torch.get_num_threads()})
    print(json.dumps(ratios))


if __name__ == "__main__":
    main()
