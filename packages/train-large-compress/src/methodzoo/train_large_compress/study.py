"""The study on a finished sweep: compress each run's equal-compute checkpoint, then the two claims.

* :func:`compress_sweep` loads, for every run, the checkpoint nearest a compute budget (never above
  it: :func:`~.runner.select_checkpoint`) and measures its compressed versions
  (:func:`~.compression.compression_sweep`), runs side by side through the core's process pool;
* :func:`convergence_table` gives steps, FLOPs and seconds to a target validation loss per size
  (claim 1: larger models need fewer steps, and possibly less compute);
* :func:`equal_bits_table` compares, at a storage budget in bits, the best compressed version of a
  larger model with the best of a smaller one (claim 2: heavily compressed large beats lightly
  compressed small).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.io import write_json
from methodzoo.shared.parallel import cpu_count, process_map
from methodzoo.shared.train import load_weights
from methodzoo.train_large_compress.analysis import (
    CompressedPoint,
    best_within,
    crossing,
    mean_and_spread,
    reachable_target,
)
from methodzoo.train_large_compress.compression import (
    CompressionOutcome,
    Int8Latency,
    compression_sweep,
    int8_latency,
)
from methodzoo.train_large_compress.config import CompressConfig
from methodzoo.train_large_compress.runner import (
    CORPUS_FILE,
    MarkCheckpoint,
    RunResult,
    RunSpec,
    SweepResult,
    build_task,
    select_checkpoint,
)

COMPRESSION_FILE = "compression.json"
FINETUNE_STEP_OFFSET = 10_000_000  # fine-tuning batches come after (never among) the pretraining ones


def run_spec(result: SweepResult, run: RunResult) -> RunSpec:
    """The :class:`RunSpec` that produced ``run`` (to rebuild its task and model)."""
    corpus = Path(result.out_dir) / CORPUS_FILE
    return RunSpec(run.model_config, result.train, result.sweep, result.language, run.seed, result.out_dir,
                   str(corpus) if corpus.is_file() else None)


def load_checkpoint_model(result: SweepResult, run: RunResult, mark: MarkCheckpoint,
                          device: str = "cpu") -> tuple[torch.nn.Module, Any]:
    """The model of ``run`` with the weights of ``mark``, and the run's task."""
    spec = run_spec(result, run)
    task = build_task(spec, torch.device(device))
    model = task.build_model(run.model_config)
    load_weights(mark.path, model)
    return model.to(device), task


@dataclass(frozen=True)
class CompressJob:
    result: SweepResult
    run: RunResult
    mark: MarkCheckpoint
    config: CompressConfig


@dataclass
class RunCompression:
    """The compressed versions of one run's checkpoint."""

    label: str
    seed: int
    mark: dict[str, Any]
    outcomes: list[CompressionOutcome] = field(default_factory=list)

    def points(self) -> list[CompressedPoint]:
        return [CompressedPoint(self.label, self.seed, o.method, o.setting, o.size_bits, o.loss, o.accuracy)
                for o in self.outcomes]


def _compress_job(job: CompressJob) -> RunCompression:
    model, task = load_checkpoint_model(job.result, job.run, job.mark)

    def evaluate(candidate: torch.nn.Module) -> tuple[float, float | None]:
        return task.validation_loss(candidate), None

    def finetune_loss(candidate: torch.nn.Module, step: int) -> torch.Tensor:
        return task.training_loss(candidate, FINETUNE_STEP_OFFSET + step)

    outcomes = compression_sweep(model, job.config, evaluate, finetune_loss)
    return RunCompression(job.run.label, job.run.seed, asdict(job.mark), outcomes)


def compress_sweep(result: SweepResult, config: CompressConfig, budget: float | None = None,
                   workers: int | None = None, on_done: Any = None) -> list[RunCompression]:
    """Compress every run's checkpoint at ``budget`` (default: the whole budget, the last mark);
    writes ``compression.json`` next to ``sweep.json``."""
    budget = result.sweep.budget if budget is None else budget
    jobs = [CompressJob(result, run, select_checkpoint(run.marks, budget, result.sweep.unit), config)
            for run in sorted(result.runs, key=lambda r: -r.flops_per_step)]
    count = workers if workers is not None else min(len(jobs), cpu_count())
    compressed = process_map(_compress_job, jobs, workers=count, on_done=on_done)
    latency = int8_latencies(result, jobs) if config.int8_latency else {}
    write_json(Path(result.out_dir) / COMPRESSION_FILE,
               {"budget": budget, "unit": result.sweep.unit, "config": config.to_dict(),
                "runs": [{"label": c.label, "seed": c.seed, "mark": c.mark,
                          "outcomes": [asdict(o) for o in c.outcomes]} for c in compressed],
                "int8": {label: asdict(item) for label, item in latency.items()}})
    return compressed


def int8_latencies(result: SweepResult, jobs: Sequence[CompressJob], rounds: int = 15) -> dict[str, Int8Latency]:
    """Real int8 against fp32 per size (first seed's checkpoint), timed here, after the pool."""
    from methodzoo.shared.compress import BackendUnavailableError

    measured: dict[str, Int8Latency] = {}
    for job in sorted(jobs, key=lambda j: (j.run.flops_per_step, j.run.seed)):
        if job.run.label in measured:
            continue
        model, task = load_checkpoint_model(result, job.run, job.mark)
        try:
            measured[job.run.label] = int8_latency(model, task.example_inputs(result.train.batch_size),
                                                   lambda m, task=task: (task.validation_loss(m), None),
                                                   rounds=rounds)
        except BackendUnavailableError:
            break
    return measured


def load_compression(folder: str | Path) -> tuple[list[RunCompression], dict[str, Int8Latency]]:
    """The compressed versions and int8 latencies written by :func:`compress_sweep`."""
    path = Path(folder) / COMPRESSION_FILE
    if not path.is_file():
        raise UserError(f"no compression results in {folder} (expected {COMPRESSION_FILE}; run `compress` first)")
    data = json.loads(path.read_text())
    runs = [RunCompression(r["label"], r["seed"], r["mark"], [CompressionOutcome(**o) for o in r["outcomes"]])
            for r in data["runs"]]
    latency = {label: Int8Latency(item["engine"], {int(k): tuple(v) for k, v in item["latency_ms"].items()},
                                  {int(k): v for k, v in item["speedup"].items()}, item["loss_fp32"],
                                  item["loss_int8"])
               for label, item in data.get("int8", {}).items()}
    return runs, latency


@dataclass(frozen=True)
class ConvergenceRow:
    """Steps, FLOPs and seconds to the target loss for one size: mean and spread over seeds
    (runs that never reach it are left out and counted in ``missed``)."""

    label: str
    parameters: int
    flops_per_step: float
    final_loss: tuple[float, float]
    steps: tuple[float, float]
    flops: tuple[float, float]
    seconds: tuple[float, float]
    per_seed_steps: tuple[float | None, ...]
    per_seed_flops: tuple[float | None, ...]
    missed: int


def convergence_table(result: SweepResult, target: float | None = None) -> tuple[float, list[ConvergenceRow]]:
    """(target, one row per size from the cheapest per step); the default target is the lowest
    validation loss every run reaches."""
    target = reachable_target(result.runs) if target is None else target
    rows = []
    for label in result.labels():
        runs = result.runs_of(label)
        steps = tuple(crossing(r.evaluations, target, "step") for r in runs)
        flops = tuple(crossing(r.evaluations, target, "flops") for r in runs)
        seconds = tuple(crossing(r.evaluations, target, "seconds") for r in runs)
        rows.append(ConvergenceRow(label, runs[0].parameters, runs[0].flops_per_step,
                                   mean_and_spread([r.evaluations[-1].val_loss for r in runs]),
                                   mean_and_spread(steps), mean_and_spread(flops), mean_and_spread(seconds),
                                   steps, flops, sum(s is None for s in steps)))
    return target, rows


@dataclass(frozen=True)
class EqualBitsRow:
    """At ``budget_bits``: the best compressed version of the small and of the large model
    stored in at most that many bits, loss mean and spread over seeds (per seed, the best of its
    own checkpoint's versions)."""

    small: str
    large: str
    budget_bits: float
    budget_from: str
    small_loss: tuple[float, float]
    large_loss: tuple[float, float]
    small_choice: str
    large_choice: str
    large_wins: bool | None


def _best_per_seed(points: Sequence[CompressedPoint], label: str, budget: float) -> list[CompressedPoint | None]:
    seeds = sorted({p.seed for p in points if p.label == label})
    return [best_within([p for p in points if p.label == label and p.seed == s], budget) for s in seeds]


def _largest_size(points: Sequence[CompressedPoint], label: str, method: str, setting: str) -> float:
    """The size of a version over the seeds (the largest, so that every seed's version fits)."""
    sizes = [p.bits for p in points if p.label == label and p.method == method and p.setting == setting]
    return float(max(sizes)) if sizes else math.nan


def equal_bits_table(points: Sequence[CompressedPoint], small: str, large: str,
                     light: Sequence[tuple[str, str]] = (("dense", "fp32"), ("ptq", "8 bit"))) -> list[EqualBitsRow]:
    """Claim 2 between two sizes at the budgets the small model takes when lightly compressed
    (``light``: (method, setting) pairs, by default uncompressed and 8-bit PTQ)."""
    rows = []
    for method, setting in light:
        budget = _largest_size(points, small, method, setting)
        if not math.isfinite(budget):
            continue
        small_best = _best_per_seed(points, small, budget)
        large_best = _best_per_seed(points, large, budget)
        small_loss = mean_and_spread([p.loss if p else None for p in small_best])
        large_loss = mean_and_spread([p.loss if p else None for p in large_best])
        wins = None if not (math.isfinite(small_loss[0]) and math.isfinite(large_loss[0])) else (
            large_loss[0] < small_loss[0])
        rows.append(EqualBitsRow(small, large, budget, f"{small} {method} {setting}", small_loss, large_loss,
                                 _choices(small_best), _choices(large_best), wins))
    return rows


def _choices(best: Sequence[CompressedPoint | None]) -> str:
    names = [f"{p.method} {p.setting}" for p in best if p is not None]
    if not names:
        return "none fits"
    return max(set(names), key=names.count) + ("" if len(set(names)) == 1 else " (most seeds)")


def adjacent_pairs(labels: Sequence[str]) -> list[tuple[str, str]]:
    """(smaller, next larger) sizes, cheapest first."""
    return list(itertools.pairwise(labels))


@dataclass
class Summary:
    """Both claims on one sweep: the convergence table and, after compression, equal-bits rows."""

    target: float
    convergence: list[ConvergenceRow]
    equal_bits: list[EqualBitsRow]
    int8: dict[str, Int8Latency]
    plots: list[Path]
    points: list[CompressedPoint] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "convergence": [asdict(r) for r in self.convergence],
                "equal_bits": [asdict(r) for r in self.equal_bits],
                "int8": {k: asdict(v) for k, v in self.int8.items()}, "plots": [str(p) for p in self.plots],
                "points": [asdict(p) for p in self.points]}


def summarize(result: SweepResult, compressed: Sequence[RunCompression] | None = None,
              int8: dict[str, Int8Latency] | None = None, target: float | None = None,
              plot_dir: str | Path | None = None) -> Summary:
    """Claim 1 from the curves, claim 2 (adjacent sizes) from the compressed versions; plots in
    ``plot_dir`` (``convergence.png``, ``compression.png``) when given."""
    from methodzoo.train_large_compress.plots import plot_compression, plot_convergence

    target, rows = convergence_table(result, target)
    labels = result.labels()
    points = [p for c in compressed or () for p in c.points()]
    equal_bits = [row for small, large in adjacent_pairs(labels) for row in equal_bits_table(points, small, large)]
    plots: list[Path] = []
    if plot_dir is not None:
        plots.append(plot_convergence(result, Path(plot_dir) / "convergence.png", target))
        if points:
            plots.append(plot_compression(points, labels, Path(plot_dir) / "compression.png",
                                          sorted({r.budget_bits for r in equal_bits})))
    return Summary(target, rows, equal_bits, dict(int8 or {}), plots, points)
