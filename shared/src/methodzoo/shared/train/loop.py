"""The optimisation loop every method needs, without becoming a framework.

:class:`Trainer` owns the chores around a user-written loss function: zeroing and clipping
gradients, gradient accumulation, averaging gradients over ``torchrun`` processes, mixed
precision on CUDA, the optimizer and scheduler steps (one or several), EMA, gradient hooks,
periodic evaluation with early stopping, a progress bar, a clear error when the loss stops
being finite, and checkpoints that resume the *same* run: model, EMA, optimizers, schedulers,
the global RNG state, every named generator and the early-stopping record are saved, so a
resumed run reproduces the uninterrupted one's losses exactly.

One optimizer step, in order::

    for each of the `accumulation` micro-batches:   loss_fn → backward(loss / accumulation)
    average gradients over processes                 (when distributed)
    unscale (fp16), gradient hooks, clipping
    optimizer steps, scheduler steps, EMA update
    every `eval_every` steps: evaluate, early stopping; every `checkpoint_every` steps: save
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from methodzoo.shared.train.distributed import (
    DistributedContext,
    average_gradients,
    broadcast_module,
    broadcast_values,
    sum_across_processes,
    unwrap_model,
)
from methodzoo.shared.train.early_stopping import EarlyStopping, EarlyStoppingMonitor
from methodzoo.shared.train.ema import EMA
from methodzoo.shared.train.micro import MicroBatch

Precision = Literal["fp32", "bf16", "fp16"]
LossOutput = torch.Tensor | Mapping[str, torch.Tensor]
LossFunction = Callable[[int], LossOutput] | Callable[[int, MicroBatch], LossOutput]
GradientHook = Callable[["Trainer"], Mapping[str, float] | None]
Evaluation = Callable[["Trainer"], Mapping[str, float]]


class TrainingDivergedError(UserError, FloatingPointError):
    """The loss became NaN or infinite."""


class Stateful(Protocol):
    """Anything checkpointed alongside the model: modules, optimizers, schedulers, histories."""

    def state_dict(self) -> Any: ...

    def load_state_dict(self, state: Any, /) -> Any: ...


@dataclass
class TrainerOptions:
    """The knobs of :class:`Trainer` (a plain dataclass so methods can embed it in their config).

    ``accumulation``: micro-batches per optimizer step on each process (the loss function
    must then take ``(step, micro)``). ``micro_batch_seed``: when set, the global torch RNG
    (dropout and other unnamed draws) is re-seeded before every micro-batch from
    ``(micro_batch_seed, step, micro.index)``, so those draws do not depend on which process
    computes the micro-batch. ``eval_every``: steps between evaluations (``0``: never; for
    per-epoch evaluation pass the number of batches per epoch).
    """

    grad_clip_norm: float | None = None
    ema_decay: float | None = None
    precision: Precision = "fp32"
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    progress: bool | None = None
    description: str = "train"
    log_every: int = 1
    accumulation: int = 1
    micro_batch_seed: int | None = None
    eval_every: int = 0

    def __post_init__(self) -> None:
        if self.accumulation < 1:
            raise ConfigError(f"accumulation must be >= 1 micro-batch per step, got {self.accumulation}")
        if self.eval_every < 0:
            raise ConfigError(f"eval_every must be >= 0 steps, got {self.eval_every}")
        if self.checkpoint_every < 0:
            raise ConfigError(f"checkpoint_every must be >= 0 steps, got {self.checkpoint_every}")


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
    """Run optimisation steps of ``loss_fn`` on ``model`` with one or several optimizers.

    ``loss_fn(step)`` draws its own batch (use :class:`~methodzoo.shared.train.EpochBatches` or a
    generator passed in ``generators`` so resuming is exact) and returns the loss, or a dict
    with a ``"loss"`` entry and other scalars to log. A loss function with two required
    positional parameters is called as ``loss_fn(step, micro)`` with a
    :class:`~methodzoo.shared.train.MicroBatch` telling it which part of the step's global batch
    to compute; that form is needed for ``accumulation > 1`` and for exact multi-process runs.
    ``extra_state`` names further objects with ``state_dict``/``load_state_dict`` (auxiliary
    networks, an evaluation :class:`TrainHistory`) that checkpoints save and resuming restores.

    ``optimizer`` and ``scheduler`` may be sequences (parameter groups with their own
    optimizers): all are stepped together each step and all are checkpointed.
    ``gradient_hooks`` are called after the gradients of a step are complete (accumulated,
    averaged over processes, unscaled) and before clipping and the optimizer steps: they may
    read the gradients (and return scalars to log) or change them in place (masks).
    ``evaluate(trainer)`` runs every ``options.eval_every`` steps and returns metrics, recorded
    in :attr:`evaluations`; ``early_stopping`` watches one of them.

    With ``distributed`` (from :func:`~methodzoo.shared.train.setup_distributed` under
    ``torchrun``) the processes start from rank 0's weights, gradients and logged scalars are
    averaged over processes, evaluations follow rank 0's values, and only rank 0 shows progress
    and writes checkpoints. Each process computes micro-batches
    ``rank·accumulation … (rank + 1)·accumulation − 1`` of the ``world_size·accumulation``.
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer | Sequence[torch.optim.Optimizer],
        *,
        options: TrainerOptions | None = None,
        scheduler: torch.optim.lr_scheduler.LRScheduler | Sequence[torch.optim.lr_scheduler.LRScheduler] | None = None,
        generators: Mapping[str, torch.Generator] | None = None,
        checkpoint_dir: str | Path | None = None,
        config: Config | Mapping[str, Any] | None = None,
        extra_state: Mapping[str, Stateful] | None = None,
        is_main_process: bool | None = None,
        distributed: DistributedContext | None = None,
        gradient_hooks: Sequence[GradientHook] = (),
        evaluate: Evaluation | None = None,
        early_stopping: EarlyStopping | None = None,
    ) -> None:
        self.model = model
        self.optimizers = [optimizer] if isinstance(optimizer, torch.optim.Optimizer) else list(optimizer)
        if not self.optimizers:
            raise ConfigError("Trainer needs at least one optimizer")
        self.schedulers = _as_list(scheduler)
        self.options = options or TrainerOptions()
        self.generators = dict(generators or {})
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.config = config.to_dict() if isinstance(config, Config) else (dict(config) if config else None)
        self.extra_state = dict(extra_state or {})
        self.distributed = distributed or DistributedContext(0, 1, 0, torch.device("cpu"), None)
        self.is_main_process = self.distributed.is_main if is_main_process is None else is_main_process
        self.gradient_hooks = list(gradient_hooks)
        self.evaluate = evaluate
        self.evaluations = TrainHistory()
        self.monitor = EarlyStoppingMonitor(early_stopping) if early_stopping is not None else None
        self._check_evaluation()
        self.step = 0
        self.history = TrainHistory()
        self._user_wrapped = isinstance(model, nn.parallel.DistributedDataParallel)
        if not self._user_wrapped:
            broadcast_module(model, self.distributed)
        self.ema = EMA(model, self.options.ema_decay) if self.options.ema_decay is not None else None
        self._device_type = _device_type(model)
        self._check_precision()
        self._scaler = torch.amp.GradScaler("cuda") if self.options.precision == "fp16" else None

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The first optimizer (the only one in most runs)."""
        return self.optimizers[0]

    @property
    def scheduler(self) -> torch.optim.lr_scheduler.LRScheduler | None:
        """The first scheduler, if any."""
        return self.schedulers[0] if self.schedulers else None

    @property
    def stopped_early(self) -> bool:
        return self.monitor is not None and self.monitor.stopped_at is not None

    # ----- one step -------------------------------------------------------------------------
    def micro_batches(self) -> list[MicroBatch]:
        """The micro-batches this process computes at the current step."""
        accumulation = self.options.accumulation
        count = self.distributed.world_size * accumulation
        first = self.distributed.rank * accumulation
        return [MicroBatch(self.step, first + i, count) for i in range(accumulation)]

    def train_step(self, loss_fn: LossFunction) -> dict[str, float]:
        """One optimisation step; returns the scalars of this step."""
        self.model.train()
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        takes_micro = _takes_micro_batch(loss_fn)
        if self.options.accumulation > 1 and not takes_micro:
            raise ConfigError("gradient accumulation needs loss_fn(step, micro) to pick each micro-batch")
        micro_batches = self.micro_batches()
        totals: dict[str, float] = {}
        bad_loss: float | None = None
        for i, micro in enumerate(micro_batches):
            with self._gradient_sync(last=i == len(micro_batches) - 1):
                loss, scalars = self._micro_step(loss_fn, micro, takes_micro)
            for name, value in scalars.items():
                totals[name] = totals.get(name, 0.0) + value / len(micro_batches)
            if loss is None:
                bad_loss = scalars["loss"]
                break
        scalars = self._synchronise(totals, bad_loss)
        if self._scaler is not None:  # hooks and clipping see the true gradients
            for optimizer in self.optimizers:
                self._scaler.unscale_(optimizer)
        for hook in self.gradient_hooks:
            scalars.update(hook(self) or {})
        if self.options.grad_clip_norm is not None:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.options.grad_clip_norm)
            scalars["grad_norm"] = float(norm)
        for optimizer in self.optimizers:
            if self._scaler is not None:
                self._scaler.step(optimizer)
            else:
                optimizer.step()
        if self._scaler is not None:
            self._scaler.update()
        for scheduler in self.schedulers:
            scheduler.step()
        if self.ema is not None:
            self.ema.update(self.model)
        self.history.append(self.step, scalars)
        self.step += 1
        return scalars

    def _micro_step(self, loss_fn: LossFunction, micro: MicroBatch,
                    takes_micro: bool) -> tuple[torch.Tensor | None, dict[str, float]]:
        """Forward and backward of one micro-batch; the loss is None when it is not finite."""
        if self.options.micro_batch_seed is not None:
            torch.manual_seed(micro.seed(self.options.micro_batch_seed))
        with self._autocast():
            output = loss_fn(self.step, micro) if takes_micro else loss_fn(self.step)  # type: ignore[call-arg]
        loss, scalars = _split_loss(output)
        if not torch.isfinite(loss.detach()).all():
            return None, scalars
        scaled = loss / self.options.accumulation
        if self._scaler is not None:
            self._scaler.scale(scaled).backward()
        else:
            scaled.backward()
        return loss, scalars

    def _synchronise(self, totals: dict[str, float], bad_loss: float | None) -> dict[str, float]:
        """Agree over processes on divergence, average scalars and gradients (one collective each).

        A parameter with a gradient on some process but not here gets a zero gradient, so every
        process joins the same collective; one without a gradient anywhere keeps none.
        """
        if not self.distributed.enabled:
            if bad_loss is not None:
                raise self._diverged(f"loss became {bad_loss}")
            return totals
        parameters = self._optimized_parameters()
        names = sorted(totals)
        status = torch.tensor([float(bad_loss is not None), *(float(p.grad is not None) for p in parameters),
                               *(totals[name] for name in names)], dtype=torch.float64)
        summed = sum_across_processes(status, self.distributed)
        if summed[0] > 0:
            raise self._diverged(f"loss became {bad_loss}" if bad_loss is not None
                                 else "loss became non-finite on another process")
        means = (summed[1 + len(parameters) :] / self.distributed.world_size).tolist()
        if self._user_wrapped:  # DDP averaged the gradients during backward
            return dict(zip(names, means, strict=True))
        with_grad = (summed[1 : 1 + len(parameters)] > 0).tolist()
        synced = []
        for parameter, present in zip(parameters, with_grad, strict=True):
            if present:
                if parameter.grad is None:
                    parameter.grad = torch.zeros_like(parameter)
                synced.append(parameter)
        average_gradients(synced, self.distributed)
        return dict(zip(names, means, strict=True))

    def _diverged(self, what: str) -> TrainingDivergedError:
        return TrainingDivergedError(f"{what} at step {self.step}; lower the learning rate, enable "
                                     "gradient clipping, or check the data for NaN/inf")

    def _optimized_parameters(self) -> list[torch.Tensor]:
        seen: dict[int, torch.Tensor] = {}
        for optimizer in self.optimizers:
            for group in optimizer.param_groups:
                for parameter in group["params"]:
                    seen.setdefault(id(parameter), parameter)
        return list(seen.values())

    def _gradient_sync(self, last: bool) -> contextlib.AbstractContextManager[Any]:
        # A model the caller wrapped in DDP syncs in backward: only the last micro-batch should.
        if self._user_wrapped and not last:
            return self.model.no_sync()  # type: ignore[operator]
        return contextlib.nullcontext()

    def fit(self, loss_fn: LossFunction, total_steps: int,
            callback: Callable[[Trainer, dict[str, float]], None] | None = None) -> TrainHistory:
        """Train until ``self.step == total_steps`` (continuing from a resumed step) or early stopping."""
        if total_steps < self.step:
            raise ConfigError(f"total_steps={total_steps} is below the resumed step {self.step}")
        show = self.options.progress if self.is_main_process else False
        bar = progress(total=total_steps, desc=self.options.description, enabled=show)
        bar.update(self.step)
        saved_at = None
        try:
            while self.step < total_steps and not self.stopped_early:
                scalars = self.train_step(loss_fn)
                bar.update(1)
                if self.step % max(1, self.options.log_every) == 0:
                    bar.set_postfix({k: f"{v:.4g}" for k, v in scalars.items()}, refresh=False)
                if callback is not None:
                    callback(self, scalars)
                if self.options.eval_every and self.step % self.options.eval_every == 0:
                    self.run_evaluation()
                every = self.options.checkpoint_every
                if every and self.step % every == 0:
                    self.save_checkpoint()
                    saved_at = self.step
        finally:
            bar.close()
        if self.options.checkpoint_every and self.checkpoint_dir is not None and saved_at != self.step:
            self.save_checkpoint()
        return self.history

    # ----- evaluation -----------------------------------------------------------------------
    def run_evaluation(self) -> dict[str, float]:
        """Evaluate now, record the metrics at the current step and update early stopping."""
        if self.evaluate is None:
            raise ConfigError("no evaluation: pass evaluate= to Trainer")
        metrics = {name: float(value) for name, value in self.evaluate(self).items()}
        if self.distributed.enabled:
            # Every process must take the same early-stopping decision: all follow rank 0.
            names = sorted(metrics)
            values = broadcast_values(torch.tensor([metrics[n] for n in names], dtype=torch.float64),
                                      self.distributed)
            metrics = dict(zip(names, values.tolist(), strict=True))
        self.evaluations.append(self.step, metrics)
        if self.monitor is not None:
            self.monitor.observe(self.step, metrics, unwrap_model(self.model))
        return metrics

    def _check_evaluation(self) -> None:
        if self.evaluate is not None and self.options.eval_every == 0:
            raise ConfigError("evaluate= needs options.eval_every > 0 (steps between evaluations)")
        if self.monitor is not None and self.evaluate is None:
            raise ConfigError("early_stopping needs evaluate= (the function returning the watched metric)")

    # ----- checkpoints ----------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "model": unwrap_model(self.model).state_dict(),
            "optimizers": [optimizer.state_dict() for optimizer in self.optimizers],
            "rng": {"torch": torch.get_rng_state()},
            "generators": {name: g.get_state() for name, g in self.generators.items()},
            "history": self.history.state_dict(),
            "extra": {name: item.state_dict() for name, item in self.extra_state.items()},
        }
        if torch.cuda.is_available() and self._device_type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state_all()
        if self.schedulers:
            state["schedulers"] = [scheduler.state_dict() for scheduler in self.schedulers]
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        if self._scaler is not None:
            state["scaler"] = self._scaler.state_dict()
        if self.evaluate is not None:
            state["evaluations"] = self.evaluations.state_dict()
        if self.monitor is not None:
            state["early_stopping"] = self.monitor.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any], step: int) -> None:
        unwrap_model(self.model).load_state_dict(state["model"])
        # Checkpoints written before several optimizers were supported hold one under "optimizer".
        optimizer_states = state["optimizers"] if "optimizers" in state else [state["optimizer"]]
        _load_each("optimizers", self.optimizers, optimizer_states)
        scheduler_states = state.get("schedulers", [state["scheduler"]] if "scheduler" in state else [])
        if self.schedulers and scheduler_states:
            _load_each("schedulers", self.schedulers, scheduler_states)
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
        if self.ema is not None and "ema" in state:
            self.ema.load_state_dict(state["ema"])
        if self._scaler is not None and "scaler" in state:
            self._scaler.load_state_dict(state["scaler"])
        self.history.load_state_dict(state.get("history", {"steps": [], "values": {}}))
        if "evaluations" in state:
            self.evaluations.load_state_dict(state["evaluations"])
        if self.monitor is not None and "early_stopping" in state:
            self.monitor.load_state_dict(state["early_stopping"])
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


def _as_list(scheduler: Any) -> list[torch.optim.lr_scheduler.LRScheduler]:
    if scheduler is None:
        return []
    if isinstance(scheduler, Sequence):
        return list(scheduler)
    return [scheduler]


def _load_each(kind: str, items: Sequence[Stateful], states: Sequence[Any]) -> None:
    if len(states) != len(items):
        raise UserError(f"checkpoint has {len(states)} {kind}, this run has {len(items)}")
    for item, item_state in zip(items, states, strict=True):
        item.load_state_dict(item_state)


def _takes_micro_batch(loss_fn: Callable[..., Any]) -> bool:
    """True when ``loss_fn`` has two required positional parameters (``step, micro``) or ``*args``."""
    try:
        parameters = inspect.signature(loss_fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty]
    return len(required) >= 2 or any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)


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
