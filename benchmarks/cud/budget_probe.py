"""Does CUD's deficit at equal NFE shrink with a 4× larger budget? (2-D, seeds 0 and 1, VAE coupling.)

Same settings as the quick profile of ``methodzoo bench cud`` except the budget: 4,800 flow-matching
iterations at batch 256 (1,228,800 NFE). Writes benchmarks/cud/results/quick-budget-probe.json.

    OMP_NUM_THREADS=1 uv run --frozen python benchmarks/cud/budget_probe.py
"""

import json

import torch

from methodzoo.cud import NetworkConfig, TrainConfig, load_training_data
from methodzoo.cud.bench import FM_VAE, PROFILES, STEPS, VAE, _Budget, _evaluate

QUICK = PROFILES.quick
SCALE = 4
torch.set_num_threads(1)
toy = load_training_data(QUICK.toy)
net = NetworkConfig.mlp(width=QUICK.toy_width, depth=3, dropout=0.0)
out: dict = {"budget_nfe": SCALE * QUICK.toy_steps * QUICK.toy_batch, "scores": {}}
for seed in (0, 1):
    train = TrainConfig(steps=QUICK.toy_steps, batch_size=QUICK.toy_batch, lr=1e-3, ema_decay=QUICK.ema_decay,
                        seed=seed)
    budget = _Budget(toy, net, train, out["budget_nfe"], torch.device("cpu"), False)
    arms = {"fm_vae": budget.objective(FM_VAE), "cud": budget.objective(VAE),
            "cud_T2": budget.objective(VAE.replace(catch_up_T=2))}
    teacher = budget.objective(FM_VAE, budget=budget.budget // 2)
    arms["consistency"] = budget.distilled("consistency", "vae", teacher)
    for name, arm in arms.items():
        scores, _ = _evaluate(arm.model, toy, QUICK.toy_samples, seed, STEPS, QUICK.toy_w2_samples)
        out["scores"].setdefault(name, {})[seed] = {"iterations": arm.iterations, "nfe": arm.nfe,
                                                    **{f"{m}_{s}": round(r[m], 4) for s, r in scores.items()
                                                       for m in ("swd", "w2")}}
        print(seed, name, out["scores"][name][seed], flush=True)
with open("benchmarks/cud/results/quick-budget-probe.json", "w") as handle:
    json.dump(out, handle, indent=2)
