"""Where the time of a CAP pruning step goes (MiniLM-L6, SNLI, batch 32, max length 32, one thread).

Times, interleaved so machine load hits every arm alike (``interleaved_timing``):
- a training step with CE+KD and with CAP (PrC+FiC+SnC, one snapshot row, E = 512);
- one magnitude-mask update of the 36 encoder matrices at 90 %, with the sorting rule the core
  used before (``torch.topk``) and with the selection it uses now (``keep_largest``, kthvalue);
- encoding 256 training pairs for a bank (a snapshot encodes the whole training set this way).

Run: ``uv run --frozen python benchmarks/cap-prune/profile_step.py`` (writes
``benchmarks/cap-prune/results/step_profile.json``).
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import torch

from methodzoo.cap_prune.banks import encode_representations
from methodzoo.cap_prune.config import (
    ContrastiveConfig,
    DataConfig,
    DistillConfig,
    UnstructuredConfig,
)
from methodzoo.cap_prune.models import classifier_from_source, load_source
from methodzoo.cap_prune.objective import CAPObjective
from methodzoo.cap_prune.pipeline import load_data
from methodzoo.cap_prune.train import TeacherOutputs, adamw, build_banks
from methodzoo.cap_prune.unstructured import UnstructuredPruner, prunable_linears
from methodzoo.shared.compress.masks import keep_largest
from methodzoo.shared.seed import make_generator
from methodzoo.shared.timing import interleaved_timing

BATCH, TRAIN = 32, 256


def topk_rule(scores: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The core's former rule: a partial sort of the scores."""
    flat = scores.reshape(-1)
    keep = torch.ones_like(flat, dtype=torch.bool)
    keep[torch.topk(flat, round(sparsity * flat.numel()), largest=False).indices] = False
    return keep.view_as(scores)


def main() -> None:
    torch.set_num_threads(1)
    source = load_source("minilm-l6")
    data = load_data(source.tokenizer, DataConfig(task="snli", train_limit=TRAIN, test_limit=8, max_length=32))
    train = data.train
    model = classifier_from_source(source, 3, "mean", seed=0, head_input="mean")
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    representations = encode_representations(model, train)
    teacher = TeacherOutputs(torch.randn(TRAIN, 3), representations)
    arms = {}
    for name, modules in (("kd", ("none",)), ("cap", ("pre", "fine", "snap"))):
        student = copy.deepcopy(model).train()
        contrastive = ContrastiveConfig(modules=modules, bank_size=512, representation="mean")
        banks = build_banks(contrastive, train.labels, 384, teacher=teacher, pretrained=representations)
        if "snap" in banks.banks:
            banks.banks["snap"].append(representations)
        objective = CAPObjective(contrastive, DistillConfig(), "unstructured", banks.banks, make_generator(0))
        UnstructuredPruner(student, UnstructuredConfig(pruner="magnitude", epochs=1, batch_size=BATCH), 100).update(50)
        optimizer = adamw(student, 1e-4, 0.0)
        batch = train.batch(torch.arange(BATCH))

        def step(student=student, objective=objective, optimizer=optimizer, batch=batch) -> None:
            output = student(*batch.inputs)
            loss = objective(output.logits, output.representation, batch.labels, batch.indices,
                             teacher.logits[batch.indices])["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        arms[f"step_{name}"] = step
    steps = interleaved_timing(arms, rounds=3)
    weights = [module.weight.detach().abs() for _, module in prunable_linears(model)]
    masks = interleaved_timing({"topk": lambda: [topk_rule(w, 0.9) for w in weights],
                                "kthvalue": lambda: [keep_largest(w, 0.9) for w in weights]}, rounds=2)
    encode = interleaved_timing({"encode_256": lambda: encode_representations(model, train)}, rounds=2)
    result = {
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "median_ms": {name: round(timing.median_ms(name), 1) for timing in (steps, masks, encode)
                      for name in timing.times_s},
        "ratio_cap_over_kd_step": round(steps.ratio("step_cap", "step_kd"), 3),
        "ratio_topk_over_kthvalue_masks": round(masks.ratio("topk", "kthvalue"), 2),
        "times_s": {name: [round(t, 4) for t in times] for timing in (steps, masks, encode)
                    for name, times in timing.times_s.items()},
    }
    out = Path(__file__).parent / "results" / "step_profile.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "times_s"}, indent=2))


if __name__ == "__main__":
    main()
