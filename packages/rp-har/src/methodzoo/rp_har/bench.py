"""``methodzoo bench rp-har``: the encoding ablation on trend-mirrored pairs and BasicMotions,
and encoding throughput against pyts.

Quality: every arm trains the same classifier (quick: a small CNN on 32 px images; full:
ImageNet-pretrained EfficientNet-Lite0 at 224 px) on the same splits, seeds and schedule;
test accuracy and macro-F1 of the best validation epoch, mean ± 95 % t-interval over seeds.

* ``raw1d``: Wang et al.'s FCN on the series (no image);
* ``rp``, ``gaf``, ``mtf``: plain recurrence plot, Gramian angular (summation) field, Markov
  transition field, one image per axis;
* ``varrp``: Lu & Tong's modified RP as released (state-angle weight);
* ``modrp``: the signed modified RP (their paper's description; our default reading);
* ``modrp_fft``: + the FFT angular-difference channels (rp-har's image);
* ``modrp_fft_mixup``: + mixup in image space (α = 0.4).

Keys without a suffix are BasicMotions (its accelerometer, channels 0–2); ``*_trend_pairs``
the synthetic trend-mirrored set. Speed: plain RP of the same 1,000 series of length 128,
ours (float32, batched) against ``pyts.image.RecurrencePlot(threshold=None)``, timed in turns.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from methodzoo.rp_har.config import EncodingConfig, TrainConfig
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Profiles, Table, Verdict
from methodzoo.shared.config import Config, check
from methodzoo.shared.intervals import mean_interval

ARMS = ("raw1d", "rp", "gaf", "mtf", "varrp", "modrp", "modrp_fft", "modrp_fft_mixup")
ARM_LABELS = {
    "raw1d": "raw 1-D CNN (FCN)", "rp": "plain RP", "gaf": "GAF (summation)", "mtf": "MTF",
    "varrp": "Lu & Tong varRP (code)", "modrp": "modified RP (signed)",
    "modrp_fft": "+ FFT angle channel", "modrp_fft_mixup": "+ mixup (α = 0.4)",
}
DATASET_KEYS = {"basic-motions": "", "trend-pairs": "_trend_pairs", "pickup-gesture": "_pickup_gesture"}
DATASET_CHANNELS = {"basic-motions": (0, 1, 2), "trend-pairs": (), "pickup-gesture": ()}
SPEEDUP_TARGET = 2.0
NEAR_PERFECT = 0.95


@dataclass(frozen=True)
class Settings(Config):
    """One profile of the benchmark."""

    seeds: int = 3
    datasets: tuple[str, ...] = ("trend-pairs", "basic-motions")
    backbone: str = "small-cnn"
    pretrained: bool = False
    image_size: int = 32
    width: int = 8
    batch_size: int = 8
    optimizer: str = "adam"
    lr: float = 3e-3
    lr_step: int = 0
    raw_width: int = 16
    epochs: dict[str, int] = field(default_factory=lambda: {"trend-pairs": 12, "basic-motions": 40,
                                                             "pickup-gesture": 40})
    mixup_alpha: float = 0.4
    timing_series: int = 1000
    timing_length: int = 128
    timing_rounds: int = 7
    pipeline_windows: int = 256
    workers: int = 2

    def validate(self) -> None:
        check(self.seeds >= 1, "seeds must be >= 1")
        check(all(d in DATASET_KEYS for d in self.datasets), "unknown data set in {}", self.datasets)
        check(self.timing_rounds >= 1 and self.timing_series >= 1, "timing needs rounds and series")

    def train_config(self, dataset: str, arm: str, seed: int) -> TrainConfig:
        return TrainConfig(backbone="raw1d" if arm == "raw1d" else self.backbone,  # type: ignore[arg-type]
                           pretrained=self.pretrained, width=self.raw_width if arm == "raw1d" else self.width,
                           epochs=self.epochs[dataset], batch_size=self.batch_size,
                           optimizer=self.optimizer, lr=self.lr, lr_step=self.lr_step,  # type: ignore[arg-type]
                           mixup_alpha=self.mixup_alpha if arm.endswith("_mixup") else 0.0,
                           augment="none", seed=seed)

    def encoding(self, arm: str) -> EncodingConfig | None:
        presets = {"rp": EncodingConfig.plain_rp, "gaf": EncodingConfig.gaf, "mtf": EncodingConfig.mtf,
                   "varrp": EncodingConfig.lu_tong_code, "modrp": EncodingConfig.modified_rp,
                   "modrp_fft": EncodingConfig.modified_rp_fft, "modrp_fft_mixup": EncodingConfig.modified_rp_fft}
        return None if arm == "raw1d" else presets[arm](image_size=self.image_size)


PROFILES = Profiles(
    quick=Settings(),
    full=Settings(seeds=5, datasets=("trend-pairs", "basic-motions", "pickup-gesture"),
                  backbone="efficientnet-lite0", pretrained=True, image_size=224, raw_width=32, batch_size=16,
                  optimizer="sgd", lr=1e-3, lr_step=7,
                  epochs={"trend-pairs": 25, "basic-motions": 25, "pickup-gesture": 25},
                  timing_rounds=15, workers=1),
)


@dataclass(frozen=True)
class Job:
    dataset: str
    arm: str
    seed: int
    settings: Settings
    device: str


def run_job(job: Job) -> dict[str, Any]:
    """Train one arm on one data set with one seed; test metrics of its best validation epoch.
    Module-level so worker processes can run it."""
    from methodzoo.rp_har.data import load_series
    from methodzoo.rp_har.synthetic import direction_accuracy
    from methodzoo.rp_har.training import evaluate, fit

    channels = DATASET_CHANNELS[job.dataset]
    train = load_series(job.dataset, "train", channels=channels)
    test = load_series(job.dataset, "test", channels=channels)
    config = job.settings.train_config(job.dataset, job.arm, job.seed)
    result = fit(train, config, job.settings.encoding(job.arm), device=job.device, show_progress=False)
    metrics = evaluate(result.classifier, test)
    out = {"dataset": job.dataset, "arm": job.arm, "seed": job.seed, "accuracy": metrics["accuracy"],
           "macro_f1": metrics["macro_f1"], "best_epoch": result.best_epoch,
           "val_accuracy": result.best_val_accuracy, "seconds": result.seconds,
           "train_windows": result.train_size, "val_windows": result.val_size, "test_windows": len(test)}
    if job.dataset == "trend-pairs":
        out["direction_accuracy"] = direction_accuracy(metrics["predicted"], test.labels)
    return out


def _load() -> float:
    """The one-minute load average (NaN where the platform has none)."""
    import os

    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return float("nan")


def _log(message: str) -> None:
    print(f"[rp-har bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _summaries(runs: list[dict[str, Any]], settings: Settings) -> tuple[dict[str, Any], list[list[Any]]]:
    metrics: dict[str, Any] = {}
    rows = []
    for arm in ARMS:
        row: list[Any] = [ARM_LABELS[arm]]
        for dataset in settings.datasets:
            chosen = [r for r in runs if r["arm"] == arm and r["dataset"] == dataset]
            suffix = DATASET_KEYS[dataset]
            for name, key in (("accuracy", "acc"), ("macro_f1", "f1")):
                interval = mean_interval([r[name] for r in chosen])
                metrics[f"{key}_{arm}{suffix}"] = round(interval.mean, 4)
                metrics[f"{key}_{arm}{suffix}_std"] = round(interval.std, 4)
                metrics[f"{key}_{arm}{suffix}_ci95"] = round(interval.half_width, 4)
                row.append(interval.format(3))
            if dataset == "trend-pairs":
                direction = mean_interval([r["direction_accuracy"] for r in chosen])
                metrics[f"dir_acc_{arm}{suffix}"] = round(direction.mean, 4)
                row.append(direction.format(3))
        rows.append(row)
    return metrics, rows


@contextmanager
def _threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch and numba threads (None: leave them), then restore."""
    if count is None:
        yield
        return
    import numba

    saved = torch.get_num_threads(), numba.get_num_threads()
    torch.set_num_threads(count)
    numba.set_num_threads(min(count, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        torch.set_num_threads(saved[0])
        numba.set_num_threads(saved[1])


def _timing(settings: Settings, device: str) -> tuple[dict[str, Any], list[list[Any]]]:
    """Plain RP of the same series: ours (float32 torch, batched) against pyts, in turns, with
    one thread each (robust on a shared machine) and with the default threads."""
    import numpy as np

    from methodzoo.rp_har.encoder import encode
    from methodzoo.rp_har.recurrence import recurrence_plot
    from methodzoo.shared.device import resolve_device
    from methodzoo.shared.errors import missing_extra
    from methodzoo.shared.timing import interleaved_timing, time_call

    try:
        from pyts.image import RecurrencePlot
    except ImportError:
        raise missing_extra("pyts", "methodzoo-rp-har", "bench") from None
    series = np.random.default_rng(0).standard_normal((settings.timing_series, settings.timing_length))
    tensor = torch.from_numpy(series).float()
    metrics: dict[str, Any] = {}
    rows = []
    for threads, thread_key in ((1, ""), (None, "_default_threads")):
        for dimension in (2, 1):
            peer = RecurrencePlot(dimension=dimension, time_delay=1, threshold=None)
            calls = {"ours": lambda d=dimension: recurrence_plot(tensor, d),
                     "pyts": lambda p=peer: p.transform(series)}
            with _threads(threads):
                timing = interleaved_timing(calls, rounds=settings.timing_rounds, warmup=1)
                used = torch.get_num_threads()
            ours, theirs = timing.median_s("ours"), timing.median_s("pyts")
            speedup = timing.ratio("pyts", "ours")
            suffix = ("" if dimension == 2 else "_m1") + thread_key
            metrics.update({f"encode_seconds_ours{suffix}": round(ours, 5),
                            f"encode_seconds_pyts{suffix}": round(theirs, 5),
                            f"encode_speedup{suffix}": round(speedup, 3)})
            for name, seconds in ((f"ours, float32, {used} thread(s)", ours), (f"pyts 0.14.1, float64, {used} thread(s)", theirs)):
                rows.append([name, dimension, round(seconds * 1000, 2), round(settings.timing_series / seconds),
                             round(speedup, 2) if name.startswith("ours") else 1.0])
    target = resolve_device(device)
    if target.type == "cuda":
        on_device = tensor.to(target)
        gpu = time_call(lambda: recurrence_plot(on_device, 2), repeats=settings.timing_rounds, device=target)
        metrics["encode_seconds_ours_cuda"] = round(gpu.median_s, 6)
        rows.append([f"ours, float32, {torch.cuda.get_device_name(target)}", 2, round(gpu.median_ms, 3),
                     round(settings.timing_series / gpu.median_s), round(metrics["encode_seconds_pyts"] / gpu.median_s, 1)])
    count = settings.pipeline_windows
    windows = torch.from_numpy(np.random.default_rng(1).standard_normal((count, 3, settings.timing_length))).float()
    with _threads(1):
        full = time_call(lambda: encode(windows, EncodingConfig(image_size=settings.image_size)), repeats=3)
    metrics["encode_seconds_modrp_fft_3axis"] = round(full.median_s, 4)
    rows.append([f"ours, the whole rp-har image of {count} 3-axis windows (6 × {settings.image_size}²), 1 thread",
                 2, round(full.median_ms, 1), round(count / full.median_s), "-"])
    return metrics, rows


def _verdicts(metrics: dict[str, Any], runs: list[dict[str, Any]], settings: Settings,
              device: str) -> list[Verdict]:
    from methodzoo.shared.testing import binomial_band

    verdicts = []
    if "trend-pairs" in settings.datasets:
        test_windows = next(r["test_windows"] for r in runs if r["dataset"] == "trend-pairs")
        low, high = binomial_band(test_windows, 0.5, 0.99)
        direction = metrics["dir_acc_rp_trend_pairs"]
        verdicts.append(Verdict(
            "plain RP stays near chance on the trend-mirrored pairs (trend direction)",
            held=low / test_windows <= direction <= high / test_windows,
            measured=f"direction accuracy {direction:.3f} (6-class accuracy {metrics['acc_rp_trend_pairs']:.3f})",
            target=f"within the 99 % chance band [{low / test_windows:.3f}, {high / test_windows:.3f}] "
                   f"of {test_windows} windows"))
        accuracy = metrics["acc_modrp_fft_trend_pairs"]
        verdicts.append(Verdict("modified RP + FFT angle is near perfect on the trend-mirrored pairs",
                                held=accuracy >= NEAR_PERFECT, measured=f"accuracy {accuracy:.3f}",
                                target=f">= {NEAR_PERFECT}", ratio=round(accuracy / NEAR_PERFECT, 3)))
    speedup = metrics["encode_speedup"]
    verdicts.append(Verdict(
        f"encoding >= {SPEEDUP_TARGET:g}× faster than pyts on CPU (plain RP, m = 2, "
        f"{settings.timing_series} × {settings.timing_length}, one thread each)",
        held=speedup >= SPEEDUP_TARGET,
        measured=f"{speedup:.2f}× ({metrics['encode_seconds_ours'] * 1000:.1f} ms vs "
                 f"{metrics['encode_seconds_pyts'] * 1000:.1f} ms)",
        target=f">= {SPEEDUP_TARGET:g}×", ratio=round(speedup / SPEEDUP_TARGET, 3)))
    gpu = metrics.get("encode_seconds_ours_cuda")
    verdicts.append(Verdict("a GPU path for users who have one", held=None if gpu is None else True,
                            measured="no GPU on this machine (the path is tested only where CUDA exists)"
                            if gpu is None else f"{gpu * 1000:.2f} ms on CUDA", target="runs on CUDA"))
    return verdicts


def _plot_accuracy(ctx: BenchContext, runs: list[dict[str, Any]], settings: Settings) -> Path:
    from methodzoo.shared.plotting import pyplot, save_figure

    plt = pyplot()
    figure, axis = plt.subplots(figsize=(10, 3.8))
    width = 0.8 / len(settings.datasets)
    for offset, dataset in enumerate(settings.datasets):
        means, errors = [], []
        for arm in ARMS:
            interval = mean_interval([r["accuracy"] for r in runs if r["arm"] == arm and r["dataset"] == dataset])
            means.append(interval.mean)
            errors.append(0.0 if interval.n < 2 else interval.half_width)
        positions = [i + (offset - (len(settings.datasets) - 1) / 2) * width for i in range(len(ARMS))]
        axis.bar(positions, means, width, yerr=errors, capsize=3, label=dataset)
    axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    axis.set_xticks(range(len(ARMS)), [ARM_LABELS[a] for a in ARMS], rotation=20, ha="right", fontsize=8)
    axis.set_ylabel("test accuracy (mean, 95 % CI)")
    axis.set_ylim(0, 1.05)
    axis.set_title(f"rp-har ablation: {settings.backbone}, {settings.seeds} seeds "
                   "(dotted: 1/2, chance of the trend direction)", fontsize=10)
    axis.legend(fontsize=8)
    return save_figure(figure, ctx.out_dir / "accuracy.png", dpi=100)


def _plot_encodings(ctx: BenchContext) -> Path:
    """Per class (rows), two windows: plain RP, signed modified RP and FFT-angle images (RGB =
    x, y, z)."""
    from methodzoo.rp_har.data import load_series
    from methodzoo.rp_har.encoder import encode
    from methodzoo.rp_har.grid import channel_tiles, per_class_examples
    from methodzoo.shared.plotting import save_image_grid

    data = load_series("trend-pairs", "test")
    index = per_class_examples(data.labels, 2, len(data.class_names))
    windows = data.values[index]
    plain = channel_tiles(encode(windows, EncodingConfig.plain_rp(image_size=64)))  # (2·6, 3, 64, 64)
    signed = channel_tiles(encode(windows, EncodingConfig(image_size=64))).view(len(index), 2, 3, 64, 64)
    tiles = torch.stack([plain.view(len(index), 3, 64, 64), signed[:, 0], signed[:, 1]], dim=1)
    return save_image_grid(tiles.reshape(-1, 3, 64, 64), ctx.out_dir / "encodings_trend_pairs.png",
                           columns=6, scale=2)


def run(ctx: BenchContext) -> BenchResult:
    from methodzoo.shared.parallel import process_map

    settings = ctx.settings(PROFILES)
    load_before = _load()
    device = "cpu" if ctx.device == "auto" and not torch.cuda.is_available() else ctx.device
    jobs = [Job(dataset, arm, ctx.seed + seed, settings, device)
            for dataset in settings.datasets for seed in range(settings.seeds) for arm in ARMS]
    workers = 1 if device not in ("cpu",) else settings.workers
    bar = ctx.progress(total=len(jobs), desc="rp-har bench")
    start = time.perf_counter()
    runs = process_map(run_job, jobs, workers=workers, threads_per_worker=1, on_done=lambda _: bar.update())
    bar.close()
    _log(f"trained {len(jobs)} runs in {time.perf_counter() - start:.1f} s with {workers} worker(s)")
    metrics, rows = _summaries(runs, settings)
    timing_metrics, timing_rows = _timing(settings, device)
    metrics.update(timing_metrics)
    _log("timed the encoders")
    metrics["train_seconds_total"] = round(sum(r["seconds"] for r in runs), 1)
    columns = ["arm"]
    for dataset in settings.datasets:
        columns += [f"{dataset} accuracy", f"{dataset} macro-F1"]
        if dataset == "trend-pairs":
            columns.append("trend direction accuracy")
    tables = [
        Table(f"Test accuracy and macro-F1 (mean ± 95 % t-interval, {settings.seeds} seeds); "
              f"{settings.backbone} on {settings.image_size}² images, best validation epoch", columns, rows),
        Table(f"Encoding the same {settings.timing_series} series of length {settings.timing_length} "
              f"(median of {settings.timing_rounds} interleaved rounds)",
              ["encoder", "m", "ms", "series / s", "speed-up vs pyts"], timing_rows),
    ]
    per_run = [[r["dataset"], r["arm"], r["seed"], round(r["accuracy"], 4), round(r["macro_f1"], 4),
                r["best_epoch"], round(r["val_accuracy"], 4), round(r["seconds"], 1)] for r in runs]
    tables.append(Table("Every run", ["data", "arm", "seed", "accuracy", "macro-F1", "best epoch",
                                      "validation accuracy", "seconds"], per_run))
    sizes = {d: next((r["train_windows"], r["val_windows"], r["test_windows"]) for r in runs if r["dataset"] == d)
             for d in settings.datasets}
    notes = [
        "Keys without a suffix are BasicMotions (accelerometer channels 0–2, official 40/40 split, a stratified "
        "fifth of the training windows for validation); *_trend_pairs the synthetic trend-mirrored set "
        "(3 pairs, 6 classes, split by subject; validation: a fifth of the training subjects).",
        "Sizes (train / validation / test windows): " + "; ".join(f"{d}: {a} / {b} / {c}" for d, (a, b, c) in sizes.items()),
        "Direction accuracy: share of test windows whose predicted trend direction (up/down) is right, whatever "
        "the pair; 0.5 is chance. Plain RP, GASF and quantile MTF are invariant to negating a signal, so they "
        "cannot see the direction by construction.",
        "No flips or crops for any arm, so the encodings alone differ; every arm has the same schedule and seeds.",
        "Encoding speed: the verdict compares one thread each (ours: torch; pyts: numba), which a shared machine "
        "measures reliably; the default-thread rows (2 threads each here) are in the table and under "
        "*_default_threads. Each side gets the series in its own form (a float32 tensor, a float64 array) "
        "and allocates its output.",
        f"Training ran in {workers} worker process(es) of one thread each; load average "
        f"{load_before:.1f} before and {_load():.1f} after the run (a shared machine: absolute times are "
        "inflated by other jobs, the interleaved speed ratios much less).",
    ]
    plots = [_plot_accuracy(ctx, runs, settings), _plot_encodings(ctx)]
    details = {"settings": settings.to_dict(), "runs": runs,
               "median_seconds_per_run": statistics.median(r["seconds"] for r in runs)}
    return BenchResult(metrics=metrics, tables=tables, plots=plots, notes=notes, details=details,
                       verdicts=_verdicts(metrics, runs, settings, device))


benchmark = Benchmark(
    name="rp-har",
    run=run,
    description="Encoding ablation (raw 1-D CNN, RP, GAF, MTF, varRP, signed modified RP, + FFT angle, "
                "+ mixup) on trend-mirrored pairs and BasicMotions, and plain-RP throughput against pyts.",
    claim="A signed modified RP with an FFT angle channel separates activities that differ only in trend "
          "direction, where a plain RP is at chance; batched float32 encoding is at least 2× faster than pyts.",
)
