"""Compression after training, through the core toolkit (``methodzoo.shared.compress``).

The paper compresses its equal-compute checkpoints and compares models of equal compressed size.
The operators are the core's; this module applies them to our Transformers and measures:

* ``prune-oneshot``: global magnitude pruning of every linear weight (tied embedding included) to
  a sparsity, no retraining (``C.prune_(m, C.MagnitudePruning(sparsity, scope="global"))``);
* ``prune-iterative``: the same target reached in ``prune_rounds`` equal increments with
  fine-tuning in between (the paper prunes iteratively while fine-tuning;
  ``C.PruningSchedule(kind="iterative")`` with ``C.ScheduledPruning``);
* ``dense-finetuned``: no compression, the same extra training steps as iterative pruning and QAT
  get (their reference: what the extra training alone gives);
* ``ptq``: uniform fake quantization of the same weights to 2–8 bits, post-training
  (``C.quantize_(m, C.FakeQuant(bits, per_channel=True, symmetric=True))``);
* ``qat``: the same quantizers during ``finetune_steps`` of training, gradients through the
  straight-through estimator;
* ``prune+ptq`` (optional, ``joint_sparsities``): one-shot pruning, then PTQ of the kept weights;
* real int8 latency of the linear layers (``C.Int8Dynamic``) against fp32, timed in turns.

Size is ``C.size_in_bits``: every stored tensor at its stored precision (fp32 biases, LayerNorms
and positions included), per-channel scales, and sparse positions as ``index_bits``-bit relative
indices where sparse storage is smaller. ``payload_bits`` leaves out the index and scale overhead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from methodzoo.shared import compress as C
from methodzoo.shared.train import Trainer, TrainerOptions
from methodzoo.train_large_compress.config import CompressConfig

Evaluator = Callable[[nn.Module], tuple[float, float | None]]
"""``evaluate(model) -> (loss, accuracy or None)`` on a fixed held-out set."""
FinetuneLoss = Callable[[nn.Module, int], torch.Tensor]
"""``loss(model, step)``: the training loss of fine-tuning step ``step``."""

EMBEDDING_LOOKUP = "*.tokens"  # the tied token matrix: also looked up, so it stays a float nn.Linear for int8


@dataclass(frozen=True)
class CompressionOutcome:
    """One compressed version of a model: how it was made, its size and its quality."""

    method: str
    setting: str
    sparsity: float
    weight_bits: int
    size_bits: int
    payload_bits: int
    loss: float
    accuracy: float | None = None


def storage_bits(model: nn.Module, index_bits: int = 5) -> tuple[int, int]:
    """(bits to store the model, overheads included; bits of the stored values alone)."""
    storage = C.weight_storage(model, index_bits=index_bits)
    return sum(s.bits for s in storage), round(sum(s.nonzero * s.value_bits for s in storage))


def weight_sparsity(model: nn.Module) -> float:
    """Fraction of zeros among the linear weights."""
    weights = [m.weight.detach() for m in model.modules() if isinstance(m, nn.Linear)]
    total = sum(w.numel() for w in weights)
    return sum(int((w == 0).sum()) for w in weights) / max(1, total)


def finetune(model: nn.Module, loss: FinetuneLoss, steps: int, lr: float,
             callback: Callable[[Trainer, dict[str, float]], None] | None = None) -> nn.Module:
    """``steps`` AdamW steps of ``loss`` on ``model`` (in place) with the core's Trainer."""
    if steps == 0:
        return model
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=lr, betas=(0.9, 0.98), eps=1e-6, weight_decay=0.0)
    trainer = Trainer(model, optimizer, options=TrainerOptions(grad_clip_norm=1.0, progress=False))
    trainer.fit(lambda step: loss(model, step), steps, callback=callback)
    return model


def prune_one_shot(model: nn.Module, sparsity: float, scope: str = "global") -> nn.Module:
    """A copy of ``model`` with its smallest linear weights masked (global magnitude, one shot)."""
    pruned = copy.deepcopy(model)
    C.prune_(pruned, C.MagnitudePruning(sparsity=sparsity, scope=scope))  # type: ignore[arg-type]
    return pruned


def prune_iterative(model: nn.Module, sparsity: float, loss: FinetuneLoss, steps: int, rounds: int, lr: float,
                    scope: str = "global") -> nn.Module:
    """A copy pruned to ``sparsity`` in ``rounds`` equal increments, fine-tuned ``steps // rounds``
    steps after each (masks only grow: pruned weights stay pruned)."""
    pruned = copy.deepcopy(model)
    method = C.MagnitudePruning(sparsity=sparsity, scope=scope)  # type: ignore[arg-type]
    if steps < rounds or rounds == 1:
        C.prune_(pruned, method)
        return finetune(pruned, loss, steps, lr)
    every = steps // rounds
    schedule = C.PruningSchedule(kind="iterative", initial_sparsity=sparsity / rounds, final_sparsity=sparsity,
                                 start_step=0, end_step=every * (rounds - 1), frequency=every)
    scheduled = C.ScheduledPruning(pruned, method, schedule)
    scheduled.step(0)  # the first round, before any fine-tuning
    return finetune(pruned, loss, every * rounds, lr, callback=scheduled)


def quantize_ptq(model: nn.Module, bits: int, per_channel: bool = True, symmetric: bool = True) -> nn.Module:
    """A copy with every linear weight fake-quantized to ``bits`` (post-training)."""
    quantized = copy.deepcopy(model)
    C.quantize_(quantized, C.FakeQuant(bits=bits, per_channel=per_channel, symmetric=symmetric))
    return quantized


def quantize_qat(model: nn.Module, bits: int, loss: FinetuneLoss, steps: int, lr: float,
                 per_channel: bool = True, symmetric: bool = True) -> nn.Module:
    """A copy fake-quantized to ``bits`` and trained ``steps`` steps through the quantizers
    (straight-through gradient: 1 inside the grid's range, 0 outside)."""
    return finetune(quantize_ptq(model, bits, per_channel, symmetric), loss, steps, lr)


def compressed_versions(model: nn.Module, config: CompressConfig,
                        loss: FinetuneLoss | None) -> Iterator[tuple[str, str, int, nn.Module]]:
    """``(method, setting, weight bits, compressed copy)`` for the grid of ``config`` (the methods
    that fine-tune are skipped when no ``loss`` is given)."""
    yield "dense", "fp32", 32, model
    fine_tuning = config.finetune_steps > 0 and ((config.qat and config.qat_bits)
                                                 or (config.iterative and config.iterative_sparsities))
    if fine_tuning and loss is not None:
        # the same extra training as QAT and iterative pruning, without compression: their reference
        yield "dense-finetuned", "fp32", 32, finetune(copy.deepcopy(model), loss, config.finetune_steps,
                                                      config.finetune_lr)
    for sparsity in config.sparsities:
        yield "prune-oneshot", f"{sparsity:.0%}", 32, prune_one_shot(model, sparsity, config.scope)
    for sparsity in config.iterative_sparsities if config.iterative and loss is not None else ():
        yield "prune-iterative", f"{sparsity:.0%}", 32, prune_iterative(
            model, sparsity, loss, config.finetune_steps, config.prune_rounds, config.finetune_lr, config.scope)
    for bits in config.bits:
        yield "ptq", f"{bits} bit", bits, quantize_ptq(model, bits, config.per_channel, config.symmetric)
    for bits in config.qat_bits if config.qat and loss is not None else ():
        yield "qat", f"{bits} bit", bits, quantize_qat(model, bits, loss, config.finetune_steps, config.finetune_lr,
                                                     config.per_channel, config.symmetric)
    for sparsity in config.joint_sparsities:
        pruned = prune_one_shot(model, sparsity, config.scope)
        for bits in config.bits:
            yield "prune+ptq", f"{sparsity:.0%} + {bits} bit", bits, quantize_ptq(pruned, bits, config.per_channel,
                                                                             config.symmetric)


def compression_sweep(model: nn.Module, config: CompressConfig, evaluate: Evaluator,
                      loss: FinetuneLoss | None = None,
                      on_outcome: Callable[[CompressionOutcome], None] | None = None) -> list[CompressionOutcome]:
    """Every compressed version of ``model`` in ``config``'s grid, measured (``model`` is not changed)."""
    outcomes = []
    for method, setting, bits, compressed in compressed_versions(model, config, loss):
        size, payload = storage_bits(compressed, config.index_bits)
        quality, accuracy = evaluate(compressed)
        outcome = CompressionOutcome(method, setting, weight_sparsity(compressed), bits, size, payload, quality,
                                     accuracy)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


@dataclass(frozen=True)
class Int8Latency:
    """Median latency (ms) of the fp32 and int8 models per batch size, and δ = fp32 / int8."""

    engine: str
    latency_ms: dict[int, tuple[float, float]]
    speedup: dict[int, float]
    loss_fp32: float
    loss_int8: float


def int8_latency(model: nn.Module, inputs: Sequence[torch.Tensor], evaluate: Evaluator,
                 batch_sizes: Sequence[int | None] = (1, None), rounds: int = 15,
                 engine: str = "auto") -> Int8Latency:
    """Real int8 linear layers (``C.Int8Dynamic``) against fp32, timed in turns. The tied token
    matrix is also an embedding table, so it stays fp32 (``skip``)."""
    int8 = copy.deepcopy(model)
    C.quantize_(int8, C.Int8Dynamic(engine=engine, skip=(EMBEDDING_LOOKUP,)))  # type: ignore[arg-type]
    used = "int_mm" if any(isinstance(m, C.Int8Linear) for m in int8.modules()) else "torch.ao"
    latency, speedup = C.measure_speedup(model, int8, *inputs, batch_sizes=batch_sizes, rounds=rounds, warmup=3)
    return Int8Latency(used, latency, speedup, evaluate(model)[0], evaluate(int8)[0])


def to_rows(outcomes: Sequence[CompressionOutcome]) -> list[dict[str, Any]]:
    """Outcomes as JSON-able dictionaries."""
    from dataclasses import asdict

    return [asdict(o) for o in outcomes]
