"""The ``fit`` verb: train CE, MW-Net or MW-Net + FaMUS on noisy labels through the core Trainer."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from methodzoo.famus.config import MetaConfig, TrainConfig
from methodzoo.famus.data import NoisyLabelData, prepare_noisy_data
from methodzoo.famus.methods import CrossEntropy, build_method
from methodzoo.famus.models import build_classifier
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.metrics import accuracy
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.seed import seeded
from methodzoo.shared.train import (
    DistributedContext,
    EpochBatches,
    MicroBatch,
    Stateful,
    StepDecay,
    Trainer,
    TrainerOptions,
    TrainHistory,
)

WARMUP_STEPS = 5  # iterations left out of the timing medians


@dataclass
class FitResult:
    """What :func:`fit` returns: test accuracy over training, timings and the noise realised.

    Times are medians over the iterations after the first ``WARMUP_STEPS`` of this process:
    the virtual step (step 1), the meta step (step 2: meta forward, meta-backward, updates),
    the meta-backward alone, and the whole iteration.
    """

    method: str
    best_accuracy: float
    last_accuracy: float
    eval_steps: list[int]
    eval_accuracy: list[float]
    virtual_step_ms: float | None
    meta_step_ms: float | None
    meta_backward_ms: float | None
    iteration_ms: float | None
    mean_active_layers: float | None
    realised_noise_rate: float
    expected_noise_rate: float
    steps: int
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Test accuracy of ``model`` in eval mode (BatchNorm with running statistics)."""
    with eval_mode(model), torch.no_grad():
        logits = torch.cat([model(images[i:i + batch_size]) for i in range(0, images.shape[0], batch_size)])
    return accuracy(logits, labels)


def check_data_parallel(method: str) -> None:
    """Refuse to split MW-Net or FaMUS over processes.

    Their step 1 is a virtual SGD step on the *whole* batch, differentiated through in step 2
    (``torch.func.functional_call`` with ŵ(θ), not the model's forward). Split over processes,
    each would take its virtual step on its own share of the batch: averaging the meta-gradients
    afterwards is a different algorithm, not the paper's step on the global batch.
    """
    if method != "ce":
        raise ConfigError(f"{method} cannot train over several processes: its meta step differentiates "
                          "through a virtual SGD step on the whole batch, which a per-process share of "
                          "the batch would change; run it in one process (only --method ce runs under torchrun)")


def fit(config: TrainConfig, meta_config: MetaConfig | None = None, *, data: NoisyLabelData | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = False, progress: bool | None = None,
        timing: bool = True, stop_at: int | None = None,
        distributed: DistributedContext | None = None) -> FitResult:
    """Train ``config.method`` on noisy labels and evaluate on the clean test set.

    Everything random derives from ``config.seed`` (split, noise, initialisation, batches, Gumbel
    noise). With ``checkpoint_dir`` the run saves checkpoints through the core Trainer
    (safetensors) and ``resume=True`` continues from the newest one, reproducing the
    uninterrupted run.

    With ``distributed`` (several processes under ``torchrun``) only plain cross-entropy runs:
    each process takes its share of every batch (BatchNorm normalises each share; running
    statistics and test accuracy are rank 0's). MW-Net and FaMUS refuse, see
    :func:`check_data_parallel`.
    """
    meta_config = meta_config or MetaConfig()
    if distributed is not None and distributed.enabled:
        check_data_parallel(config.method)
    device = distributed.device if distributed is not None else resolve_device(config.device)
    data = (data or prepare_noisy_data(config)).to(device)
    image_shape = tuple(data.train_images.shape[1:])  # (C, H, W)
    with seeded(config.seed, devices=[device]):  # initialisation only; the global state is restored after
        model = build_classifier(config.model, data.num_classes, image_shape[0], image_shape[1],
                                 config.width, config.depth).to(device)
        method: CrossEntropy = build_method(config.method, model, meta_config, generator=config.seed + 1)
    method.timing = timing
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        method.optimizer, StepDecay(config.steps, meta_config.lr_milestones, meta_config.lr_gamma))
    batches = EpochBatches(data.train_images.shape[0], config.batch_size, seed=config.seed)
    meta_batches = EpochBatches(data.meta_images.shape[0], min(config.meta_batch_size, data.meta_images.shape[0]),
                                seed=config.seed + 7919)
    evaluations = TrainHistory()  # test accuracy at evaluation steps, checkpointed with the run
    extra_state: dict[str, Stateful] = {"evaluations": evaluations, **method.meta_modules()}
    extra_state.update({f"{name}_optimizer": opt for name, opt in method.meta_optimizers().items()})
    trainer = Trainer(
        model, method.optimizer, scheduler=scheduler,
        options=TrainerOptions(checkpoint_every=config.checkpoint_every, progress=progress,
                               description=f"famus train ({config.method})"),
        generators={"gumbel": method.generator}, checkpoint_dir=checkpoint_dir,
        config={"train": config.to_dict(), "meta": meta_config.to_dict()},
        extra_state=extra_state, distributed=distributed)
    if resume and checkpoint_dir is not None:
        trainer.resume()

    def loss_fn(step: int, micro: MicroBatch) -> dict[str, torch.Tensor]:
        index = micro.select(batches.batch(step)).to(device)
        meta_index = meta_batches.batch(step).to(device)
        return method.iteration(data.train_images[index], data.train_labels[index],
                                data.meta_images[meta_index], data.meta_labels[meta_index])

    end = config.steps if stop_at is None else min(stop_at, config.steps)
    timings: dict[str, list[float]] = {"virtual_ms": [], "meta_ms": [], "meta_backward_ms": [], "iteration_ms": [],
                                       "active": []}
    clock = {"last": time.perf_counter(), "seen": 0}

    def callback(trainer: Trainer, scalars: dict[str, float]) -> None:
        if timing and device.type == "cuda":
            torch.cuda.synchronize(device)
        now = time.perf_counter()
        clock["seen"] += 1
        if clock["seen"] > WARMUP_STEPS:
            timings["iteration_ms"].append(1e3 * (now - clock["last"]))
            for key in ("virtual_ms", "meta_ms", "meta_backward_ms"):
                if key in method.last_timings:
                    timings[key].append(method.last_timings[key])
        if "active_layers" in scalars:
            timings["active"].append(scalars["active_layers"])
        if trainer.step % config.eval_every == 0 or trainer.step == end:
            evaluations.append(trainer.step, {"accuracy": evaluate(model, data.test_images, data.test_labels)})
        clock["last"] = time.perf_counter()

    trainer.fit(loss_fn, end, callback=callback)
    if not evaluations.steps or evaluations.steps[-1] != end:
        evaluations.append(end, {"accuracy": evaluate(model, data.test_images, data.test_labels)})
    test_accuracy = evaluations.values["accuracy"]
    self_checkpoint = checkpoint_dir is not None and config.checkpoint_every == 0
    if self_checkpoint:
        trainer.save_checkpoint()

    def median(values: list[float]) -> float | None:
        return statistics.median(values) if values else None

    return FitResult(
        method=config.method, best_accuracy=max(test_accuracy), last_accuracy=test_accuracy[-1],
        eval_steps=list(evaluations.steps), eval_accuracy=list(test_accuracy),
        virtual_step_ms=median(timings["virtual_ms"]), meta_step_ms=median(timings["meta_ms"]),
        meta_backward_ms=median(timings["meta_backward_ms"]),
        iteration_ms=median(timings["iteration_ms"]),
        mean_active_layers=statistics.fmean(timings["active"]) if timings["active"] else None,
        realised_noise_rate=data.noise.realised_rate, expected_noise_rate=data.noise.expected_rate,
        steps=end, config={"train": config.to_dict(), "meta": meta_config.to_dict()})
