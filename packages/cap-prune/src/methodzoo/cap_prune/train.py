"""The three runs: fine-tune the dense teacher, prune unstructured (CAP-m / CAP-soft / magnitude
under the cubic schedule), prune structured (CAP-f). Each uses the core's ``Trainer`` (gradient
clipping, progress bar, safetensors checkpoints that resume exactly: the bank-sampling generator
and the banks are part of the checkpoint) and batches that are a pure function of (seed, step).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from methodzoo.cap_prune.banks import RepresentationBank, encode_representations
from methodzoo.cap_prune.classifier import MaskableBertForSequenceClassification
from methodzoo.cap_prune.config import (
    ContrastiveConfig,
    DistillConfig,
    FinetuneConfig,
    Mode,
    StructuredConfig,
    UnstructuredConfig,
)
from methodzoo.cap_prune.data import TokenizedTexts
from methodzoo.cap_prune.objective import CAPObjective
from methodzoo.cap_prune.structured import (
    choose_head_mask,
    choose_neuron_mask,
    mask_importance,
    structured_budget,
)
from methodzoo.cap_prune.unstructured import UnstructuredPruner, encoder_sparsity, score_parameters
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.modules import count_parameters, eval_mode
from methodzoo.shared.progress import progress
from methodzoo.shared.seed import make_generator
from methodzoo.shared.train import (
    DistributedContext,
    EpochBatches,
    MicroBatch,
    Trainer,
    TrainerOptions,
    WarmupLinearDecay,
)

EVAL_BATCH_SIZE = 128


# ----- teacher outputs, evaluation ----------------------------------------------------------------
@dataclass
class TeacherOutputs:
    """The eval-mode teacher's logits (N, C) and representations (N, d) on the training set:
    a fixed function of each example, so one pass serves every step, arm and seed."""

    logits: torch.Tensor
    representations: torch.Tensor


@torch.no_grad()
def teacher_outputs(teacher: MaskableBertForSequenceClassification, data: TokenizedTexts, *,
                    batch_size: int = EVAL_BATCH_SIZE, show_progress: bool | None = None) -> TeacherOutputs:
    device = next(teacher.parameters()).device
    logits, representations = [], []
    with eval_mode(teacher):
        for start in progress(range(0, len(data), batch_size), desc="teacher outputs", enabled=show_progress):
            batch = data.batch(torch.arange(start, min(start + batch_size, len(data))), device)
            output = teacher(*batch.inputs)
            logits.append(output.logits.float().cpu())
            representations.append(output.representation.float().cpu())
    return TeacherOutputs(torch.cat(logits), torch.cat(representations))


@torch.no_grad()
def predict(model: nn.Module, data: TokenizedTexts, *, batch_size: int = EVAL_BATCH_SIZE) -> torch.Tensor:
    """Predicted labels (N,) in eval mode."""
    device = next(model.parameters()).device
    predictions = []
    with eval_mode(model):
        for start in range(0, len(data), batch_size):
            batch = data.batch(torch.arange(start, min(start + batch_size, len(data))), device)
            predictions.append(model(*batch.inputs).logits.argmax(-1).cpu())
    return torch.cat(predictions)


def evaluate(model: nn.Module, data: TokenizedTexts, *, batch_size: int = EVAL_BATCH_SIZE) -> float:
    """Accuracy on ``data``."""
    return float((predict(model, data, batch_size=batch_size) == data.labels).float().mean())


# ----- optimisation pieces --------------------------------------------------------------------------
def steps_for(epochs: float, examples: int, batch_size: int) -> int:
    """Optimisation steps of ``epochs`` passes (the last partial batch of an epoch is dropped)."""
    if batch_size > examples:
        raise ConfigError(f"batch_size {batch_size} is larger than the {examples} training examples")
    return max(1, math.ceil(epochs * (examples // batch_size)))


def adamw(model: nn.Module, lr: float, weight_decay: float, score_lr: float | None = None) -> torch.optim.AdamW:
    """AdamW without decay on biases and LayerNorm (BERT's recipe); movement scores in a group of
    their own with ``score_lr`` and no decay."""
    scores = {id(p) for p in score_parameters(model)}
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad or id(parameter) in scores:
            continue
        (no_decay if parameter.ndim < 2 or "layer_norm" in name else decay).append(parameter)
    groups: list[dict[str, Any]] = [{"params": decay, "weight_decay": weight_decay},
                                    {"params": no_decay, "weight_decay": 0.0}]
    if scores:
        groups.append({"params": score_parameters(model), "weight_decay": 0.0, "lr": score_lr or lr})
    return torch.optim.AdamW(groups, lr=lr)


def linear_schedule(optimizer: torch.optim.Optimizer, total: int, warmup: int) -> torch.optim.lr_scheduler.LambdaLR:
    """BERT's linear warm-up over ``warmup`` steps, then linear decay to 0 at ``total`` (the core's
    :class:`~methodzoo.shared.train.WarmupLinearDecay`)."""
    return torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupLinearDecay(total, min(warmup, total)))


class StepTimer:
    """Trainer callback recording the wall time of each optimisation step."""

    def __init__(self, then: Callable[..., None] | None = None) -> None:
        self.times: list[float] = []
        self.then = then
        self._last = time.perf_counter()

    def __call__(self, trainer: Trainer, scalars: dict[str, float]) -> None:
        now = time.perf_counter()
        self.times.append(now - self._last)
        self._last = now
        if self.then is not None:
            self.then(trainer, scalars)

    @property
    def median_ms(self) -> float | None:
        # The first steps pay for warm-up; the median ignores them and the bank encodings.
        return 1e3 * statistics.median(self.times) if self.times else None


@dataclass
class RunResult:
    """What a training run reports."""

    accuracy: float | None
    steps: int
    step_ms: float | None
    losses: dict[str, list[float]] = field(default_factory=dict)
    sparsity: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        last = {name: values[-1] for name, values in self.losses.items() if values}
        return {"accuracy": self.accuracy, "steps": self.steps, "step_ms": self.step_ms, "sparsity": self.sparsity,
                "last_losses": last, **self.details}


def _trainer(model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, *, grad_clip: float | None,
             description: str, show_progress: bool | None, checkpoint_dir: str | Path | None,
             checkpoint_every: int, config: Mapping[str, Any], seed: int,
             generators: Mapping[str, torch.Generator] | None = None, extra_state: Mapping[str, Any] | None = None,
             context: DistributedContext | None = None) -> Trainer:
    # Dropout draws from the global RNG: re-seeded per (seed, step, micro-batch), a run is
    # reproducible, resumes exactly and gives the same steps on any number of processes.
    options = TrainerOptions(grad_clip_norm=grad_clip, progress=show_progress, description=description,
                             checkpoint_every=checkpoint_every if checkpoint_dir is not None else 0,
                             micro_batch_seed=seed)
    return Trainer(model, optimizer, options=options, scheduler=scheduler, generators=generators,
                   checkpoint_dir=checkpoint_dir, config=dict(config), extra_state=extra_state,
                   distributed=context)


# ----- fine-tuning --------------------------------------------------------------------------------------
def finetune(model: nn.Module, train: TokenizedTexts, config: FinetuneConfig | None = None, *,
             seed: int = 0, test: TokenizedTexts | None = None, checkpoint_dir: str | Path | None = None,
             resume: bool = False, checkpoint_every: int = 0, show_progress: bool | None = None,
             context: DistributedContext | None = None) -> RunResult:
    """Fine-tune ``model`` (a classifier of this package) with cross-entropy.

    With a distributed ``context`` (``torchrun``) each process computes its micro-batch of every
    batch and the core's Trainer averages the gradients.
    """
    config = config or FinetuneConfig()
    total = steps_for(config.epochs, len(train), config.batch_size)
    optimizer = adamw(model, config.lr, config.weight_decay)
    scheduler = linear_schedule(optimizer, total, round(config.warmup_ratio * total))
    batches = EpochBatches(len(train), config.batch_size, seed=seed)
    device = next(model.parameters()).device

    def loss_fn(step: int, micro: MicroBatch) -> dict[str, torch.Tensor]:
        batch = train.batch(micro.select(batches.batch(step)), device)
        return {"loss": nn.functional.cross_entropy(model(*batch.inputs).logits, batch.labels)}

    trainer = _trainer(model, optimizer, scheduler, grad_clip=config.max_grad_norm, description="fine-tune",
                       show_progress=show_progress, checkpoint_dir=checkpoint_dir,
                       checkpoint_every=checkpoint_every or batches.batches_per_epoch,
                       config={"finetune": config.to_dict(), "seed": seed}, seed=seed, context=context)
    if resume:
        trainer.resume()
    timer = StepTimer()
    trainer.fit(loss_fn, total, callback=timer)
    accuracy = evaluate(model, test) if test is not None else None
    return RunResult(accuracy, total, timer.median_ms, dict(trainer.history.values))


# ----- banks ----------------------------------------------------------------------------------------------
class Banks:
    """The banks of one run and the number of snapshots taken (checkpointed together)."""

    def __init__(self, banks: dict[str, RepresentationBank]) -> None:
        self.banks = banks
        self.snapshots = 0

    def state_dict(self) -> dict[str, Any]:
        return {"snapshots": self.snapshots, "banks": {name: bank.state_dict() for name, bank in self.banks.items()}}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.snapshots = int(state["snapshots"])
        for name, bank_state in state["banks"].items():
            self.banks[name].load_state_dict(bank_state)

    def snapshot(self, model: nn.Module, data: TokenizedTexts, contrastive: ContrastiveConfig) -> None:
        """Encode the training set with the current pruned model and append it to SnC."""
        representations = encode_representations(model, data, batch_size=contrastive.bank_batch_size,
                                                 dropout=contrastive.bank_dropout)
        self.banks["snap"].append(representations)
        self.snapshots += 1


def build_banks(contrastive: ContrastiveConfig, labels: torch.Tensor, dim: int, *,
                teacher: TeacherOutputs | None, pretrained: torch.Tensor | None) -> Banks:
    """PrC from the pre-trained model's representations, FiC from the teacher's, SnC empty."""
    dtype = torch.float16 if contrastive.bank_dtype == "float16" else torch.float32
    banks: dict[str, RepresentationBank] = {}
    for name in contrastive.banks:
        bank = RepresentationBank(labels, dim, dtype=dtype,
                                  keep_last_k=contrastive.keep_last_k if name == "snap" else None)
        if name == "pre":
            if pretrained is None:
                raise ConfigError("PrC needs the pre-trained model's representations")
            bank.append(pretrained)
        elif name == "fine":
            if teacher is None:
                raise ConfigError("FiC needs the fine-tuned teacher's representations")
            bank.append(teacher.representations)
        banks[name] = bank
    return Banks(banks)


def _teacher_logits(teacher: TeacherOutputs | None, indices: torch.Tensor, device: torch.device) -> torch.Tensor | None:
    return None if teacher is None else teacher.logits[indices.cpu()].to(device)


def _configs(mode: Mode, **configs: Any) -> dict[str, Any]:
    return {"mode": mode, **{name: c.to_dict() if hasattr(c, "to_dict") else c for name, c in configs.items()}}


# ----- unstructured pruning ---------------------------------------------------------------------------
def prune_unstructured(model: nn.Module, train: TokenizedTexts, config: UnstructuredConfig | None = None,
                       contrastive: ContrastiveConfig | None = None, distill: DistillConfig | None = None, *, teacher: TeacherOutputs | None, pretrained: torch.Tensor | None, seed: int = 0,
                       test: TokenizedTexts | None = None, checkpoint_dir: str | Path | None = None,
                       resume: bool = False, checkpoint_every: int = 0, show_progress: bool | None = None,
                       context: DistributedContext | None = None) -> RunResult:
    """Prune ``model`` to ``config.sparsity`` while training on CE + KD + the contrastive terms.

    ``teacher``: the fine-tuned teacher's outputs on ``train`` (KD and FiC); ``pretrained``: the
    pre-trained model's representations of ``train`` (PrC). SnC snapshots are taken at the start
    of every epoch after the first (or every ``config.snapshot_every`` steps). Configs left
    ``None`` take their defaults.
    """
    config, contrastive, distill = (config or UnstructuredConfig(), contrastive or ContrastiveConfig(),
                                    distill or DistillConfig())
    if distill.lambda_kd and teacher is None:
        raise ConfigError("distillation (lambda_kd > 0) needs the teacher's outputs")
    student = model
    if not isinstance(student, MaskableBertForSequenceClassification):
        raise ConfigError(f"expected a MaskableBertForSequenceClassification, got {type(model).__name__}")
    device = next(model.parameters()).device
    total = steps_for(config.epochs, len(train), config.batch_size)
    banks = build_banks(contrastive, train.labels, student.config.hidden_size, teacher=teacher, pretrained=pretrained)
    generator = make_generator(seed * 7919 + 17)
    objective = CAPObjective(contrastive, distill, "unstructured", banks.banks, generator)
    pruner = UnstructuredPruner(student, config, total)
    optimizer = adamw(student, config.lr, config.weight_decay, config.score_lr)
    scheduler = linear_schedule(optimizer, total, round(config.warmup_ratio * total))
    batches = EpochBatches(len(train), config.batch_size, seed=seed)
    every = config.snapshot_every or batches.batches_per_epoch

    def loss_fn(step: int, micro: MicroBatch) -> dict[str, torch.Tensor]:
        if "snap" in banks.banks and step > 0 and banks.snapshots < step // every:
            banks.snapshot(student, train, contrastive)
        pruner.update(step)
        batch = train.batch(micro.select(batches.batch(step)), device)
        output = student(*batch.inputs)
        terms = objective(output.logits, output.representation, batch.labels, batch.indices,
                          _teacher_logits(teacher, batch.indices, device))
        regularization = pruner.regularization(step)
        if regularization is not None:
            terms["regularization"] = regularization
            terms["loss"] = terms["loss"] + regularization
        return terms

    trainer = _trainer(student, optimizer, scheduler, grad_clip=config.max_grad_norm,
                       description=f"prune {config.pruner} {'+'.join(contrastive.banks) or 'ce+kd'}",
                       show_progress=show_progress, checkpoint_dir=checkpoint_dir,
                       checkpoint_every=checkpoint_every or batches.batches_per_epoch,
                       config=_configs("unstructured", unstructured=config, contrastive=contrastive,
                                       distill=distill, seed=seed),
                       seed=seed, generators={"contrastive": generator}, extra_state={"banks": banks},
                       context=context)
    if resume:
        trainer.resume()
    timer = StepTimer()
    trainer.fit(loss_fn, total, callback=timer)
    pruner.finish()
    accuracy = evaluate(student, test) if test is not None else None
    return RunResult(accuracy, total, timer.median_ms, dict(trainer.history.values),
                     sparsity=encoder_sparsity(student).sparsity,
                     details={"snapshots": banks.snapshots})


# ----- structured pruning ----------------------------------------------------------------------------
@dataclass
class StructuredStep:
    """One point of the structured sweep, after its retraining."""

    ratio: float
    heads_kept: int
    neurons_kept: int
    accuracy: float | None
    encoder_parameters: int
    step_ms: float | None


def prune_structured(model: MaskableBertForSequenceClassification, train: TokenizedTexts,
                     config: StructuredConfig | None = None, contrastive: ContrastiveConfig | None = None,
                     distill: DistillConfig | None = None, *, teacher: TeacherOutputs | None,
                     pretrained: torch.Tensor | None, seed: int = 0, test: TokenizedTexts | None = None,
                     show_progress: bool | None = None,
                     on_step: Callable[[StructuredStep, MaskableBertForSequenceClassification], None] | None = None,
                     ) -> list[StructuredStep]:
    """CAP-f: for each ratio, rank heads and FFN neurons by mask-gradient importance under the
    full loss, mask the least important (cumulatively, ≥ 1 head per layer), retrain, evaluate.

    SnC receives the model's representations before each new mask after the first.
    ``on_step(step, model)`` is called after each step (to save or inspect the masked model).
    """
    config, contrastive, distill = (config or StructuredConfig(), contrastive or ContrastiveConfig(),
                                    distill or DistillConfig())
    if distill.lambda_kd and teacher is None:
        raise ConfigError("distillation (lambda_kd > 0) needs the teacher's outputs")
    device = next(model.parameters()).device
    budget = structured_budget(model.config)
    banks = build_banks(contrastive, train.labels, model.config.hidden_size, teacher=teacher, pretrained=pretrained)
    generator = make_generator(seed * 7919 + 23)
    objective = CAPObjective(contrastive, distill, "structured", banks.banks, generator)
    importance_examples = min(config.importance_examples or len(train), len(train))
    order = torch.arange(importance_examples)
    importance_batches = math.ceil(importance_examples / config.batch_size)
    results: list[StructuredStep] = []
    for index, ratio in enumerate(config.ratios):
        if index > 0 and "snap" in banks.banks:
            banks.snapshot(model, train, contrastive)

        def loss_of_batch(b: int, head_mask: torch.Tensor, ffn_mask: torch.Tensor) -> torch.Tensor:
            batch = train.batch(order[b * config.batch_size:(b + 1) * config.batch_size], device)
            output = model(*batch.inputs, head_mask=head_mask, ffn_mask=ffn_mask)
            return objective(output.logits, output.representation, batch.labels, batch.indices,
                             _teacher_logits(teacher, batch.indices, device))["loss"]

        with eval_mode(model):
            importance = mask_importance(model.bert, loss_of_batch, importance_batches)
        model.bert.set_head_mask(choose_head_mask(importance.heads, model.bert.head_mask, budget.heads_to_prune(ratio)))
        model.bert.set_ffn_mask(choose_neuron_mask(importance.neurons, model.bert.ffn_mask,
                                                   budget.neurons_to_prune(ratio)))
        total = steps_for(config.epochs_per_step, len(train), config.batch_size)
        optimizer = adamw(model, config.lr, config.weight_decay)
        scheduler = linear_schedule(optimizer, total, round(config.warmup_ratio * total))
        batches = EpochBatches(len(train), config.batch_size, seed=seed * 1000 + index)

        def loss_fn(step: int, micro: MicroBatch, batches: EpochBatches = batches) -> dict[str, torch.Tensor]:
            batch = train.batch(micro.select(batches.batch(step)), device)
            output = model(*batch.inputs)
            return objective(output.logits, output.representation, batch.labels, batch.indices,
                             _teacher_logits(teacher, batch.indices, device))

        trainer = _trainer(model, optimizer, scheduler, grad_clip=config.max_grad_norm,
                           description=f"retrain at {ratio:.0%}", show_progress=show_progress, checkpoint_dir=None,
                           checkpoint_every=0, config=_configs("structured", structured=config),
                           seed=seed * 1000 + index)
        timer = StepTimer()
        trainer.fit(loss_fn, total, callback=timer)
        compacted = model.compact()
        step = StructuredStep(ratio, int(model.bert.head_mask.sum()), int(model.bert.ffn_mask.sum()),
                              evaluate(model, test) if test is not None else None,
                              count_parameters(compacted.bert) - count_parameters(compacted.bert.embeddings),
                              timer.median_ms)
        results.append(step)
        if on_step is not None:
            on_step(step, model)
    return results
