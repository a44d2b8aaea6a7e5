"""Training CUD (or plain flow matching) with the core :class:`~methodzoo.shared.train.Trainer`.

Everything random in a run comes from the run's seed: the initial weights and dropout (global RNG,
forked so the caller's state is untouched, and saved in checkpoints by the Trainer), the times,
catch-up steps and latents (generator ``noise``), the toy samples (generator ``data``) and the image
batches (:class:`~methodzoo.shared.train.EpochBatches`). A resumed run therefore reproduces the
uninterrupted run's loss curve exactly.

When a step's batch is split into several micro-batches (``accumulation > 1``, or several
processes under ``torchrun``), each micro-batch draws its data, noise and dropout from seeds of
``(seed, step, micro-batch index)`` instead, so ``torchrun --nproc-per-node 2`` reproduces one
process with ``accumulation=2`` (up to float rounding in the gradient average).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from methodzoo.cud.config import CUDConfig, NetworkConfig, TrainConfig
from methodzoo.cud.data import TrainingData
from methodzoo.cud.networks import CUDModel, build_model
from methodzoo.cud.objective import CatchUpDistillation
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import ConfigError, UserError
from methodzoo.shared.seed import make_generator, seeded
from methodzoo.shared.train import (
    DistributedContext,
    EpochBatches,
    LinearWarmup,
    MicroBatch,
    Trainer,
    TrainerOptions,
    TrainHistory,
    load_checkpoint,
)


@dataclass
class FitResult:
    """The trained model, its EMA copy (used for sampling), the loss history and the Trainer."""

    model: CUDModel
    ema_model: CUDModel | None
    history: TrainHistory
    trainer: Trainer

    @property
    def sampling_model(self) -> CUDModel:
        """The EMA weights when there are any (the paper samples with EMA), else the raw ones."""
        return self.ema_model if self.ema_model is not None else self.model


def run_config(data: TrainingData, cud: CUDConfig, network: NetworkConfig, train: TrainConfig) -> dict[str, Any]:
    """The JSON stored next to every checkpoint: enough to rebuild the model."""
    return {"data": data.name, "data_shape": list(data.data_shape), "cud": cud.to_dict(),
            "network": network.to_dict(), "train": train.to_dict()}


def fit(data: TrainingData, cud: CUDConfig | None = None, network: NetworkConfig | None = None,
        train: TrainConfig | None = None, *, checkpoint_dir: str | Path | None = None,
        resume: bool = False, device: str | torch.device = "cpu", progress: bool | None = None,
        description: str = "cud", stop_at: int | None = None,
        method: CatchUpDistillation | None = None, accumulation: int = 1,
        distributed: DistributedContext | None = None) -> FitResult:
    """Train v_θ (and the coupling encoder) on ``data`` with the CUD objective.

    ``stop_at`` ends the run early at that step (the schedule still uses ``train.steps``); with
    ``checkpoint_dir`` and ``resume=True`` a later call continues from the newest checkpoint.
    ``train.batch_size`` is the global batch of a step: ``accumulation`` micro-batches on each of
    the ``distributed.world_size`` processes (``distributed`` from ``setup_distributed`` under
    ``torchrun``; only rank 0 writes checkpoints).
    """
    cud = cud or CUDConfig()
    network = network or (NetworkConfig.mlp() if not data.is_image else NetworkConfig.mnist_paper())
    train = train or TrainConfig()
    method = method or CatchUpDistillation(cud)
    device = resolve_device(device)
    if cud.teacher == "ema" and train.ema_decay is None:
        raise ConfigError("teacher='ema' needs EMA weights (set ema_decay)")
    if data.images is not None and train.batch_size > len(data.images):
        raise ConfigError(f"batch_size {train.batch_size} exceeds the {len(data.images)} training images")
    end = train.steps if stop_at is None else min(stop_at, train.steps)
    if accumulation < 1:
        raise ConfigError(f"accumulation must be >= 1 micro-batch per step, got {accumulation}")
    micro_batches = accumulation * (distributed.world_size if distributed is not None else 1)
    split = micro_batches > 1
    if train.batch_size % micro_batches:
        raise ConfigError(f"batch_size {train.batch_size} does not split into {micro_batches} micro-batches "
                          "(processes × accumulation)")
    config = run_config(data, cud, network, train)
    if split:  # the micro-batch count decides the random draws: keep it with the run
        config["micro_batches"] = micro_batches

    with seeded(train.seed, devices=[device]):
        model = build_model(data.data_shape, network, order=cud.order, coupling=cud.coupling).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=train.lr, betas=(0.9, 0.999))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, LinearWarmup(train.warmup_steps))
        generators = {"noise": make_generator(train.seed * 3 + 1, device=device),
                      "data": make_generator(train.seed * 3 + 2)}
        options = TrainerOptions(grad_clip_norm=train.grad_clip_norm, ema_decay=train.ema_decay,
                                 checkpoint_every=train.checkpoint_every, progress=progress,
                                 description=description, accumulation=accumulation,
                                 micro_batch_seed=train.seed * 3 if split else None)
        trainer = Trainer(model, optimizer, options=options, scheduler=scheduler, generators=generators,
                          checkpoint_dir=checkpoint_dir, config=config, distributed=distributed)
        if resume:
            if checkpoint_dir is None:
                raise ConfigError("resume=True needs a checkpoint_dir")
            trainer.resume()
        batches = (EpochBatches(len(data.images), train.batch_size, train.seed)
                   if data.images is not None else None)
        teacher: nn.Module | None = trainer.ema.model if (cud.teacher == "ema" and trainer.ema) else None

        def loss_fn(step: int, micro: MicroBatch) -> dict[str, torch.Tensor]:
            if not split:
                z0 = data.draw(train.batch_size, step, generators["data"], batches)
                noise = generators["noise"]
            else:
                noise = micro.generator(train.seed * 3 + 1, device)
                if data.images is not None:
                    assert batches is not None
                    z0 = data.images[micro.select(batches.batch(step))]
                else:
                    z0 = data.draw(micro.size(train.batch_size), step, micro.generator(train.seed * 3 + 2))
            return method.loss(model, z0.to(device), step=step, total_steps=train.steps, teacher=teacher,
                               generator=noise)

        if end < trainer.step:
            raise UserError(f"the checkpoint is at step {trainer.step}, beyond the requested {end}")
        trainer.fit(loss_fn, end)
        if checkpoint_dir is not None and not train.checkpoint_every:
            trainer.save_checkpoint()
    ema_model = trainer.ema.model if trainer.ema is not None else None
    return FitResult(model, ema_model, trainer.history, trainer)  # type: ignore[arg-type]


@dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint folder, with the run's configuration."""

    model: CUDModel
    config: dict[str, Any]
    step: int
    used_ema: bool


def load_trained(checkpoint: str | Path, *, use_ema: bool = True,
                 device: str | torch.device = "cpu") -> LoadedModel:
    """Rebuild the model of a ``fit`` checkpoint (folder or step JSON); EMA weights by default."""
    loaded = load_checkpoint(checkpoint, map_location="cpu")
    config = loaded.config or {}
    if "cud" not in config or "network" not in config:
        raise UserError(f"{loaded.path} is not a methodzoo-cud checkpoint (no cud/network config)")
    cud = CUDConfig.from_dict(config["cud"])
    network = NetworkConfig.from_dict(config["network"])
    model = build_model(tuple(config["data_shape"]), network, order=cud.order, coupling=cud.coupling)
    state = loaded.state
    used_ema = bool(use_ema and "ema" in state)
    model.load_state_dict(state["ema"]["model"] if used_ema else state["model"])
    return LoadedModel(model.to(resolve_device(device)).eval(), config, loaded.step, used_ema)
