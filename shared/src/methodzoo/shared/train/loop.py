"""The optimisation loop every method needs, without becoming a framework.

:class:`Trainer` owns the chores around a user-written ``loss_fn(step) -> loss``: zeroing and
clipping gradients, mixed precision on CUDA, the optimizer and scheduler steps, EMA, a progress
bar, a clear error when the loss stops being finite, and checkpoints that resume the *same* run:
model, EMA, optimizer, scheduler, the global RNG state and every named generator are saved, so a
resumed run reproduces the uninterrupted one's losses exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import torch
from torch import nn

from methodzoo.shared.config import Config
from methodzoo.shared.errors import ConfigError, UserError
from methodzoo.shared.progress import progress
from methodzoo.shared.train.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from methodzoo.shared.train.distributed import unwrap_model
from methodzoo.shared.train.ema import EMA

Precision = Literal["fp32", "bf16", "fp16"]
LossOutput = torch.Tensor | Mapping[str, torch.Tensor]


class TrainingDivergedError(UserError, FloatingPointError):
    """The loss became NaN or infinite."""


class Stateful(Protocol):
    """Anything checkpointed alongside the model: modules, optimizers, schedulers, histories."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any, /) -> Any: ...


@dataclass
class TrainerOptions:
    """The knobs of :class:`Trainer` (a plain dataclass so methods can embed it in their config)."""

    grad_clip_norm: float | None = None
    ema_decay: float | None = None
    precision: Precision = "fp32"
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    progress: bool | None = None
    description: str = "train"
    log_every: int = 1


@dataclass
class TrainHistory:
    """Losses (and other scalars the loss function reported) per completed step."""

    steps: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)

    def append(self, step: int, scalars: Mapping[str, float]) -> None:
        self.steps.append(step)
        for name, value in scalars.items():
            self.values.setdefault(name, []).append(value)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "values": {k: list(v) for k, v in self.values.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.steps = list(state["steps"])
        self.values = {k: list(v) for k, v in state["values"].items()}

    @property
    def loss(self) -> list[float]:
        return self.values.get("loss", [])


class Trainer:
    """Run optimisation steps of ``loss_fn`` on ``model`` with ``optimizer``.

    ``loss_fn(step)`` draws its own batch (use :class:`~methodzoo.shared.train.EpochBatches` or a
    generator passed in ``generators`` so resuming is exact) and returns the loss, or a dict
    with a ``"loss"`` entry and other scalars to log. ``extra_state`` names further objects with
    ``state_dict``/``load_state_dict`` (auxiliary networks, their optimizers, an evaluation
    :class:`TrainHistory`) that checkpoints save and resuming restores.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        options: TrainerOptions | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
        generators: Mapping[str, torch.Generator] | None = None,
        checkpoint_dir: str | Path | None = None,
        config: Config | Mapping[str, Any] | None = None,
        extra_state: Mapping[str, Stateful] | None = None,
        is_main_process: bool = True,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.options = options or TrainerOptions()
        self.scheduler = scheduler
        self.generators = dict(generators or {})
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.config = config.to_dict() if isinstance(config, Config) else (dict(config) if config else None)
        self.extra_state = dict(extra_state or {})
        self.is_main_process = is_main_process
        self.step = 0
        self.history = TrainHistory()
        self.ema = EMA(model, self.options.ema_decay) if self.options.ema_decay is not None else None
        self._device_type = _device_type(model)
        self._check_precision()
        self._scaler = torch.amp.GradScaler("cuda") if self.options.precision == "fp16" else None

    # ----- one step -------------------------------------------------------------------------
    def train_step(self, loss_fn: Callable[[int], LossOutput]) -> dict[str, float]:
        """One optimisation step; returns the scalars of this step."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        with self._autocast():
            output = loss_fn(self.step)
        loss, scalars = _split_loss(output)
        if not torch.isfinite(loss.detach()).all():
            raise TrainingDivergedError(
                f"loss became {loss.item()} at step {self.step}; lower the learning rate, "
                "enable gradient clipping, or check the data for NaN/inf"
            )
        if self._scaler is not None:
            self._scaler.scale(loss).backward()
            self._scaler.unscale_(self.optimizer)
        else:
            loss.backward()
        if self.options.grad_clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.options.grad_clip_norm)
            scalars["grad_norm"] = float(norm)
        if self._scaler is not None:
            self._scaler.step(self.optimizer)
            self._scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.history.append(self.step, scalars)
        self.step += 1
        return scalars

    def fit(self, loss_fn: Callable[[int], LossOutput], total_steps: int,
            callback: Callable[[Trainer, dict[str, float]], None] | None = None) -> TrainHistory:
        """Train until ``self.step == total_steps`` (continuing from a resumed step)."""
        if total_steps < self.step:
            raise ConfigError(f"total_steps={total_steps} is below the resumed step {self.step}")
        bar = progress(total=total_steps, desc=self.options.description, enabled=self.options.progress)
        bar.update(self.step)
        try:
            while self.step < total_steps:
                scalars = self.train_step(loss_fn)
                bar.update(1)
                if self.step % max(1, self.options.log_every) == 0:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in scalars.items()}, refresh=False)
                if callback is not None:
                    callback(self, scalars)
                every = self.options.checkpoint_every
                if every and self.step % every == 0:
                    self.save_checkpoint()
        finally:
            bar.close()
        if self.options.checkpoint_every and self.checkpoint_dir is not None:
            self.save_checkpoint()
        return self.history

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": unwrap_model(self.model).state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": {"torch": torch.get_rng_state()},
            "generators": {name: g.get_state() for name, g in self.generators.items()},
            "history": self.history.state_dict(),
            "extra": {name: item.state_dict() for name, item in self.extra_state.items()},
        }
        if torch.cuda.is_available() and self._device_type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        if self.scheduler is not None:
            state["scheduler"] = self.scheduler.state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self._scaler is not None:
            state["scaler"] = self._scaler.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any], step: int) -> None:
        unwrap_model(self.model).load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        for name, generator_state in state["generators"].items():
            if name not in self.generators:
                raise UserError(f"checkpoint has generator {name!r} that this run does not define")
            self.generators[name].set_state(generator_state)
        for name, item_state in state.get("extra", {}).items():
            if name not in self.extra_state:
                raise UserError(f"checkpoint has extra state {name!r} that this run does not define")
            self.extra_state[name].load_state_dict(item_state)
        if self.scheduler is not None and "scheduler" in state:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        if self._scaler is not None and "scaler" in state:
            self._scaler.load_state_dict(state["scaler"])
        self.history.load_state_dict(state.get("history", {"steps": [], "values": {}}))
        self.step = step

    def save_checkpoint(self, folder: str | Path | None = None) -> Path | None:
        """Write a checkpoint of the current step (only on the main process)."""
        folder = Path(folder) if folder is not None else self.checkpoint_dir
        if folder is None:
            raise ConfigError("no checkpoint folder: pass checkpoint_dir to Trainer or a folder here")
        if not self.is_main_process:
            return None
        return save_checkpoint(folder, self.step, self.state_dict(), config=self.config,
                               keep=self.options.keep_checkpoints)

    def resume(self, path: str | Path | None = None) -> bool:
        """Load the newest checkpoint from ``path`` (default: the checkpoint folder).

        Returns False when the default folder holds no checkpoint; an explicit ``path`` that
        holds none is an error.
        """
        if path is None:
            # Resuming from our own folder is optional: nothing there means a fresh start.
            if self.checkpoint_dir is None or not self.checkpoint_dir.exists():
                return False
            if latest_checkpoint(self.checkpoint_dir) is None:
                return False
        source = Path(path) if path is not None else self.checkpoint_dir
        assert source is not None
        checkpoint: Checkpoint = load_checkpoint(source)
        self.load_state_dict(checkpoint.state, checkpoint.step)
        return True

    @contextlib.contextmanager
    def _autocast(self) -> Iterator[None]:
        if self.options.precision == "fp32":
            yield
            return
        dtype = torch.bfloat16 if self.options.precision == "bf16" else torch.float16
        with torch.autocast(device_type=self._device_type, dtype=dtype):
            yield

    def _check_precision(self) -> None:
        if self.options.precision == "fp16" and self._device_type != "cuda":
            raise ConfigError("precision='fp16' needs a CUDA device; use 'bf16' or 'fp32' on CPU")


def _device_type(model: nn.Module) -> str:
    for parameter in model.parameters():
        return parameter.device.type
    return "cpu"


def _split_loss(output: LossOutput) -> tuple[torch.Tensor, dict[str, float]]:
    if isinstance(output, torch.Tensor):
        loss = output
        extras: dict[str, float] = {}
    else:
        if "loss" not in output:
            raise ValueError("loss_fn returned a dict without a 'loss' entry")
        loss = output["loss"]
        extras = {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
                  for k, v in output.items() if k != "loss"}
    return loss, {"loss": float(loss.detach()), **extras}
