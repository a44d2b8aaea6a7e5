"""Training a two-branch model: vanilla, balanced or random, with per-epoch diagnostics.

Each step (the core ``Trainer``): forward in the mode the balancer chose, the loss
CE(ŷ0, y) + CE(ŷ1, y) (or CE(ŷ_c, y) in a re-balancing step with
``rebalance_update="cared_branch_only"``), backward, the balancer as the Trainer's gradient hook
(learning speed, next mode), the SGD step. After each epoch: the train-loss
plateau schedule, accuracies on every evaluation set, d_speed and (every ``utilization_every``
epochs) the conditional utilization rates on the first evaluation set.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.data import Subset

from methodzoo.greedy_mm.balancing import Balancer, make_balancer
from methodzoo.greedy_mm.config import BalanceConfig, TrainConfig
from methodzoo.greedy_mm.data.paired import (
    BatchLoader,
    PairedTensors,
    TwoModalityData,
    iterate_batches,
)
from methodzoo.greedy_mm.mmtm import rebalancing, set_rebalancing
from methodzoo.greedy_mm.network import MultimodalOutput, branch_logits, two_head_loss
from methodzoo.greedy_mm.speed import LearningSpeedTracker, SpeedGroups
from methodzoo.greedy_mm.utilization import SqueezeStatistics, squeeze_statistics, utilization_rates
from methodzoo.shared.device import resolve_device
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.train import EpochBatches, Trainer, TrainerOptions, TrainingDivergedError


@dataclass
class EpochLog:
    """What one epoch measured. ``evaluation`` maps each evaluation set to its accuracies
    (``acc`` of ŷ, ``acc_branch0``, ``acc_branch1``); ``utilization`` is the
    :class:`~methodzoo.greedy_mm.utilization.UtilizationRates` of the first set, when computed."""

    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    d_speed: float
    bdr0: float
    bdr1: float
    modes: dict[str, float]
    evaluation: dict[str, dict[str, float]] = field(default_factory=dict)
    utilization: dict[str, float] | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for people."""
        parts = [f"epoch {self.epoch:3d}", f"loss {self.train_loss:.4f}", f"train {self.train_acc:.3f}"]
        for name, scores in self.evaluation.items():
            parts.append(f"{name} {scores['acc']:.3f} (ŷ0 {scores['acc_branch0']:.3f} ŷ1 {scores['acc_branch1']:.3f})")
        parts.append(f"d_speed {self.d_speed:+.3f}")
        if self.utilization is not None:
            parts.append(f"d_util {self.utilization['d_util']:+.3f}")
        parts.append(f"re-balancing {1 - self.modes['regular']:.0%}")
        return "  ".join(parts)


@dataclass
class FitResult:
    """The trained model, its per-epoch history and the balancer (learning-speed sums, mode trace)."""

    model: nn.Module
    history: list[EpochLog]
    balancer: Balancer
    statistics: SqueezeStatistics | None
    stopped_early: bool

    @property
    def last(self) -> EpochLog:
        return self.history[-1]


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, batch_size: int = 256, workers: int = 0) -> dict[str, float]:
    """Accuracies of ŷ, ŷ0 and ŷ1 on a two-modality data set (eval mode, regular fusion)."""
    device = next(model.parameters()).device
    correct = torch.zeros(3, dtype=torch.long)
    total = 0
    with eval_mode(model), rebalancing(model, None):
        for x0, x1, labels in iterate_batches(data, batch_size, workers=workers):
            y0, y1 = branch_logits(model(x0.to(device), x1.to(device)))
            labels = labels.to(device)
            for k, logits in enumerate(((y0 + y1) / 2, y0, y1)):
                correct[k] += int((logits.argmax(1) == labels).sum())
            total += int(labels.shape[0])
    acc = (correct.double() / max(total, 1)).tolist()
    return {"acc": acc[0], "acc_branch0": acc[1], "acc_branch1": acc[2]}


def step_loss(model: nn.Module, balancer: Balancer, batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
              rebalance_update: str = "all") -> tuple[torch.Tensor, MultimodalOutput]:
    """Forward in the mode the balancer chose for this step, and its loss: CE(ŷ0) + CE(ŷ1), or
    CE(ŷ_c) alone in a re-balancing step with ``rebalance_update="cared_branch_only"`` (branch c's
    gates are then constant, so only branch c's parameters receive gradients)."""
    x0, x1, labels = batch
    cared = balancer.cared
    output = model(x0, x1)
    heads = (cared,) if cared is not None and rebalance_update == "cared_branch_only" else (0, 1)
    return two_head_loss(output, labels, heads), output


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, balancer: Balancer,
               batch: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
               rebalance_update: str = "all") -> tuple[float, MultimodalOutput]:
    """One optimisation step of your own loop: :func:`step_loss`, backward, the balancer's
    after-backward hook, the optimizer step. Returns the loss and the output."""
    optimizer.zero_grad(set_to_none=True)
    loss, output = step_loss(model, balancer, batch, rebalance_update)
    if not torch.isfinite(loss.detach()):
        raise TrainingDivergedError(f"loss became {loss.item()} at step {len(balancer.trace)}; "
                                    "lower the learning rate")
    loss.backward()
    balancer.after_backward(model)
    optimizer.step()
    return float(loss.detach()), output


class EpochFeed:
    """The training batches of one epoch, read in step order (a DataLoader with ``workers``
    processes for folder data sets), for a loss function called as ``loss_fn(step)``."""

    def __init__(self, data: TwoModalityData, batches: EpochBatches, *, device: torch.device,
                 workers: int = 0) -> None:
        self.data, self.batches, self.device, self.workers = data, batches, device, workers
        self.next_step = 0
        self._iterator: Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = iter(())

    def start_epoch(self, epoch: int) -> None:
        """Prepare the batches of ``epoch`` (counted from 1)."""
        per_epoch = self.batches.batches_per_epoch
        self.next_step = (epoch - 1) * per_epoch
        index_batches = [self.batches.batch(step) for step in range(self.next_step, epoch * per_epoch)]
        self._iterator = iterate_batches(self.data.train, self.batches.batch_size, index_batches,
                                         workers=self.workers)

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if step != self.next_step:
            raise RuntimeError(f"batches are read in step order: expected step {self.next_step}, got {step}")
        self.next_step += 1
        x0, x1, labels = next(self._iterator)
        return x0.to(self.device), x1.to(self.device), labels.to(self.device)


def fit(model: nn.Module, data: TwoModalityData, *, balance: BalanceConfig | None = None,
        train: TrainConfig | None = None, groups: SpeedGroups | None = None, device: str | torch.device = "auto",
        on_epoch: Callable[[EpochLog], None] | None = None, show_progress: bool | None = None) -> FitResult:
    """Train ``model`` (a two-branch network with MMTM fusion) on ``data`` and log every epoch.

    The steps run in the core :class:`~methodzoo.shared.train.Trainer`, with the balancer as its
    gradient (after-backward) hook. ``groups`` are the learning-speed parameter groups (default:
    ``model.speed_groups()``). ``on_epoch`` is called with each :class:`EpochLog`.
    """
    balance = balance or BalanceConfig()
    train = train or TrainConfig()
    target = resolve_device(device)
    model.to(target)
    tracker = LearningSpeedTracker(groups or SpeedGroups.of(model))
    balancer = make_balancer(balance, tracker, generator=train.seed * 7 + 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=train.lr, momentum=train.momentum,
                                weight_decay=train.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="min", factor=train.plateau_factor, patience=train.plateau_patience,
        threshold=1e-3, threshold_mode="rel", min_lr=train.min_lr)
    size = len(data.train)  # type: ignore[arg-type]
    batches = EpochBatches(size, min(train.batch_size, size), seed=train.seed)
    per_epoch = batches.batches_per_epoch
    trainer = Trainer(model, optimizer, options=TrainerOptions(progress=show_progress, description=balance.method),
                      gradient_hooks=[balancer.trainer_hook(per_epoch)])
    feed = EpochFeed(data, batches, device=target, workers=train.workers)

    def loss_fn(step: int) -> dict[str, torch.Tensor | float]:
        x0, x1, labels = feed.batch(step)
        loss, output = step_loss(model, balancer, (x0, x1, labels), balance.rebalance_update)
        y0, y1 = branch_logits(output)
        correct = ((y0 + y1).argmax(1) == labels).sum()  # the argmax of ŷ = (ŷ0 + ŷ1)/2
        return {"loss": loss, "correct": float(correct), "count": float(labels.shape[0])}

    subset = None  # training samples of the per-epoch squeeze statistics (None: all)
    if train.statistics_samples is not None and train.statistics_samples < size:
        order = torch.randperm(size, generator=torch.Generator().manual_seed(train.seed))
        subset = order[: train.statistics_samples].sort().values
    history: list[EpochLog] = []
    statistics: SqueezeStatistics | None = None
    perfect_epochs = 0
    balancer.reset_mode(model)
    for epoch in range(1, train.epochs + 1):
        start = time.perf_counter()
        balancer.begin_epoch(epoch)
        feed.start_epoch(epoch)
        lr = optimizer.param_groups[0]["lr"]
        trainer.fit(loss_fn, epoch * per_epoch)
        values = {name: v[-per_epoch:] for name, v in trainer.history.values.items()}
        count = sum(values["count"])
        train_loss = sum(loss * n for loss, n in zip(values["loss"], values["count"], strict=True)) / count
        train_acc = sum(values["correct"]) / count
        scheduler.step(train_loss)
        perfect_epochs = perfect_epochs + 1 if train_acc >= 1.0 else perfect_epochs
        stop = train.stop_after_perfect > 0 and perfect_epochs >= train.stop_after_perfect
        final = stop or epoch == train.epochs
        bdr0, bdr1 = tracker.bdr
        log = EpochLog(epoch=epoch, lr=lr, train_loss=train_loss, train_acc=train_acc, d_speed=balancer.d_speed,
                       bdr0=bdr0, bdr1=bdr1, modes=balancer.mode_fractions(per_epoch))
        for name, dataset in data.evaluation.items():
            log.evaluation[name] = evaluate(model, dataset, train.eval_batch_size, train.workers)
        every = train.utilization_every
        if data.evaluation and (final or (every and epoch % every == 0)):
            statistics, log.utilization = measure_utilization(model, data, train, None if final else subset)
        log.seconds = time.perf_counter() - start
        history.append(log)
        if on_epoch is not None:
            on_epoch(log)
        if stop:
            break
    set_rebalancing(model, None)
    model.eval()
    return FitResult(model=model, history=history, balancer=balancer, statistics=statistics,
                     stopped_early=len(history) < train.epochs)


def measure_utilization(model: nn.Module, data: TwoModalityData, train: TrainConfig,
                        subset: torch.Tensor | None = None) -> tuple[SqueezeStatistics, dict[str, float]]:
    """Training-set squeeze statistics (of the ``subset`` indices when given), then the
    utilization rates on the first evaluation set."""
    source: Any = data.train
    if subset is not None:
        source = data.train.subset(subset) if isinstance(data.train, PairedTensors) else Subset(data.train, subset.tolist())
    statistics = squeeze_statistics(model, BatchLoader(source, train.eval_batch_size, workers=train.workers))
    first = next(iter(data.evaluation.values()))
    rates = utilization_rates(model, BatchLoader(first, train.eval_batch_size, workers=train.workers), statistics,
                              prediction=train.utilization_prediction)
    return statistics, {**rates.to_dict(), "train_samples": float(statistics.count)}
