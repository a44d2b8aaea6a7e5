"""The study's figures: validation loss against steps, FLOPs and seconds per size, and loss
against compressed size in bits per size with the Pareto front."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from methodzoo.shared.plotting import pyplot, save_figure
from methodzoo.train_large_compress.analysis import CompressedPoint, pareto_front
from methodzoo.train_large_compress.runner import SweepResult

AXES = (("step", "training steps"), ("flops", "training FLOPs"), ("seconds", "training seconds"))
MARKERS = {"dense": "*", "dense-finetuned": "P", "prune-oneshot": "v", "prune-iterative": "^", "ptq": "o", "qat": "s", "prune+ptq": "D"}


def plot_convergence(result: SweepResult, path: str | Path, target: float | None = None) -> Path:
    """Validation loss against steps, FLOPs and seconds: one line per size (mean over seeds, the
    band is ± one standard deviation), the target loss dashed."""
    plt = pyplot()
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharey=True)
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.85, len(result.labels())))
    for colour, label in zip(colours, result.labels(), strict=True):
        runs = result.runs_of(label)
        length = min(len(r.evaluations) for r in runs)
        losses = np.array([[e.val_loss for e in r.evaluations[:length]] for r in runs])  # (seeds, evaluations)
        mean, spread = losses.mean(0), losses.std(0)
        for axis, (key, _) in zip(axes, AXES, strict=True):
            x = np.array([[getattr(e, key) for e in r.evaluations[:length]] for r in runs]).mean(0)
            axis.plot(x, mean, color=colour, label=f"{label} ({runs[0].parameters / 1e3:.0f}k params)")
            if len(runs) > 1:
                axis.fill_between(x, mean - spread, mean + spread, color=colour, alpha=0.2)
    for axis, (_, title) in zip(axes, AXES, strict=True):
        axis.set_xlabel(title)
        if target is not None:
            axis.axhline(target, color="grey", linestyle="--", linewidth=1)
    axes[0].set_ylabel("validation MLM loss")
    axes[0].legend(fontsize=8)
    budget = f"{result.sweep.budget:.3g} {result.sweep.unit}"
    figure.suptitle(f"equal {result.sweep.unit} per size ({budget}), {result.sweep.seeds} seed(s)")
    return save_figure(figure, path)


def plot_compression(points: Sequence[CompressedPoint], labels: Sequence[str], path: str | Path,
                     budgets: Sequence[float] = ()) -> Path:
    """Loss against compressed size (bits, log scale): every compressed version of every size and
    seed, marker by method, the Pareto front over all sizes as a line, budgets dotted."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(8, 4.8))
    colours = dict(zip(labels, plt.get_cmap("viridis")(np.linspace(0, 0.85, len(labels))), strict=True))
    for label in labels:
        for method, marker in MARKERS.items():
            chosen = [p for p in points if p.label == label and p.method == method]
            if chosen:
                axis.scatter([p.bits for p in chosen], [p.loss for p in chosen], color=colours[label], marker=marker,
                             s=28, alpha=0.8, label=f"{label} {method}")
    front = pareto_front(points)
    axis.step([p.bits for p in front], [p.loss for p in front], where="post", color="black", linewidth=1,
              label="Pareto front")
    for budget in budgets:
        axis.axvline(budget, color="grey", linestyle=":", linewidth=1)
    axis.set_xscale("log")
    axis.set_xlabel("compressed size (bits, overheads included)")
    axis.set_ylabel("validation MLM loss")
    axis.legend(fontsize=6, ncol=2)
    axis.set_title("loss against compressed size, per model size")
    return save_figure(figure, path)
