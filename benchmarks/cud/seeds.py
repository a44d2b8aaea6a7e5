"""Seed check of the 2-D part of the quick profile (seeds 1 and 2; seed 0 is the benchmark run).

    OMP_NUM_THREADS=1 uv run --frozen python benchmarks/cud/seeds.py
"""

import json

import torch

from methodzoo.cud import NetworkConfig, TrainConfig, load_training_data
from methodzoo.cud.bench import PROFILES, _evaluate, _train_methods

QUICK = PROFILES.quick
toy = load_training_data("8gaussians")
net = NetworkConfig.mlp(width=QUICK.toy_width, depth=3, dropout=0.0)
out = {}
for seed in (1, 2):
    train = TrainConfig(steps=QUICK.toy_steps, batch_size=QUICK.toy_batch, lr=1e-3, ema_decay=QUICK.ema_decay, seed=seed)
    models = _train_methods(toy, net, train, torch.device("cpu"), False, one_step=True, log={})
    scores, _ = _evaluate(models, toy, QUICK.toy_samples, seed)
    out[seed] = {m: {s: round(r["swd"], 3) for s, r in v.items()} for m, v in scores.items()}
    print(seed, json.dumps(out[seed]), flush=True)
with open("benchmarks/cud/results/quick-seeds-2d.json", "w") as handle:
    json.dump(out, handle, indent=2)
