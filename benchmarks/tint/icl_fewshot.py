"""Few-shot classification in context, at small scale: the unchanged auxiliary (plain in-context
learning), TinT's one-forward-pass fine-tuning, and explicit dynamic evaluation, over several seeds.

    OMP_NUM_THREADS=1 uv run --frozen python benchmarks/tint/icl_fewshot.py --out benchmarks/tint/results/icl_fewshot.json

The task is synthetic (no pretrained model that does in-context learning runs offline here): each
episode draws ``items`` input tokens and gives each a random binary label (label tokens A / B); a
sequence is ``T / 2`` (input, label) pairs drawn from the episode. The first half of the sequence
(the TinT's training part) holds the demonstrations; every label in the second half is scored as a
two-way classification (argmax of the A / B logits after the input token). A tiny GPT-2 is first
trained on such episodes (fresh labels each time, so only in-context use of the labels helps).
``eta_sum`` is chosen per seed on validation episodes by dynamic evaluation and reused for TinT.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from methodzoo.tint import TinTConfig, build_tint, dynamic_eval_step
from methodzoo.tint.text import tiny_gpt2

VOCAB, LABEL_A, LABEL_B, FIRST_INPUT = 64, 2, 3, 4
ETAS = (1e-3, 1e-2, 3e-2, 1e-1)


def episodes(count: int, length: int, items: int, generator: torch.Generator) -> torch.Tensor:
    """``(count, length)`` sequences of (input, label) pairs, one random labelling per sequence."""
    pairs = length // 2
    out = torch.empty(count, length, dtype=torch.long)
    for row in range(count):
        chosen = FIRST_INPUT + torch.randperm(VOCAB - FIRST_INPUT, generator=generator)[:items]
        labels = LABEL_A + torch.randint(0, 2, (items,), generator=generator)
        which = torch.randint(0, items, (pairs,), generator=generator)
        out[row, 0::2], out[row, 1::2] = chosen[which], labels[which]
    return out


def train(model: torch.nn.Module, steps: int, length: int, items: int, seed: int) -> float:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    model.train()
    losses = []
    for _ in range(steps):
        batch = episodes(32, length, items, generator)
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    return statistics.fmean(losses[-20:])


def scores(logits: torch.Tensor, ids: torch.Tensor, train_len: int) -> dict[str, float]:
    """Accuracy on the second half's labels: all of them, and those whose input appeared in the
    training half (the only ones a step on the training half can inform)."""
    correct, seen_correct, total, seen_total = 0, 0, 0, 0
    for row in range(ids.shape[0]):
        demos = set(ids[row, :train_len:2].tolist())
        for position in range(train_len + 1, ids.shape[1], 2):  # label positions of the eval part
            pick = LABEL_A + int(logits[row, position - 1, LABEL_B] > logits[row, position - 1, LABEL_A])
            hit = int(pick == int(ids[row, position]))
            correct, total = correct + hit, total + 1
            if int(ids[row, position - 1]) in demos:
                seen_correct, seen_total = seen_correct + hit, seen_total + 1
    return {"accuracy": correct / total, "accuracy_seen_inputs": seen_correct / max(1, seen_total)}


def evaluate(aux: torch.nn.Module, ids: torch.Tensor, eta: float) -> dict[str, dict[str, float]]:
    config = TinTConfig(rows_per_prefix=2, learning_rate=eta)
    with torch.no_grad():
        out = build_tint(aux, config).simulate(ids)
    dynamic = dynamic_eval_step(aux, ids, config)
    return {"auxiliary (in-context only)": scores(out.logits_before, ids, out.train_len),
            "TinT": scores(out.logits_after, ids, out.train_len),
            "dynamic evaluation": scores(dynamic.logits_after, ids, out.train_len)}


def run_seed(seed: int, args: argparse.Namespace) -> dict[str, object]:
    aux = tiny_gpt2(hidden=32, layers=2, heads=2, context=args.length, vocab=VOCAB, seed=seed)
    loss = train(aux, args.train_steps, args.length, args.items, seed)
    generator = torch.Generator().manual_seed(10_000 + seed)
    validation = episodes(args.validation, args.length, args.items, generator)
    test = episodes(args.test, args.length, args.items, generator)
    sweep = {eta: evaluate(aux, validation, eta)["dynamic evaluation"]["accuracy"] for eta in ETAS}
    eta = max(sweep, key=lambda e: sweep[e])
    return {"seed": seed, "train_loss": loss, "eta_sum": eta, "validation_sweep": sweep,
            "test": evaluate(aux, test, eta)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--train-steps", type=int, default=300)
    parser.add_argument("--length", type=int, default=48)
    parser.add_argument("--items", type=int, default=6)
    parser.add_argument("--validation", type=int, default=16)
    parser.add_argument("--test", type=int, default=64)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    start = time.perf_counter()
    runs = [run_seed(seed, args) for seed in range(args.seeds)]
    summary: dict[str, dict[str, float]] = {}
    for method in runs[0]["test"]:  # type: ignore[union-attr]
        for metric in ("accuracy", "accuracy_seen_inputs"):
            values = [r["test"][method][metric] for r in runs]  # type: ignore[index]
            summary.setdefault(method, {})[f"{metric}_mean"] = statistics.fmean(values)
            summary[method][f"{metric}_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
    result = {"summary": summary, "runs": runs, "args": vars(args), "seconds": round(time.perf_counter() - start, 1)}
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text + "\n")


if __name__ == "__main__":
    main()
