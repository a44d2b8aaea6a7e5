"""The compute-budget runner: a grid of sizes trained under one budget of FLOPs or seconds.

Each run (one size, one seed) trains until its budget is spent, evaluates the validation loss
every ``eval_every`` steps (recording steps, FLOPs and seconds with it) and keeps a checkpoint at
each equal-compute mark ``budget · k / marks``: the last state whose compute does not exceed the
mark. Under a FLOP budget that is exact (FLOPs per step are counted once, so a mark's step is
``⌊mark / FLOPs per step⌋``); under a wall-clock budget the runner checkpoints before the step
that would cross the mark, from the median of recent step times, so a checkpoint's seconds never
exceed its mark (a mark a slow step jumps over is simply missing). :func:`select_checkpoint` picks
the checkpoint nearest a budget without exceeding it.

Runs are independent: :func:`sweep` runs them side by side through the core's
:func:`~methodzoo.shared.parallel.process_map` (one process per CPU core), or one after the other
on a GPU. Under ``torchrun`` each run is data-parallel through the core Trainer (every process
draws the same global batch and computes its micro-batch; gradients are averaged over processes).

Seconds count training steps only (batch drawing, forward, backward, optimiser), not evaluation.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from copy import deepcopy
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch

from methodzoo.shared.config import check
from methodzoo.shared.errors import UserError
from methodzoo.shared.io import write_json
from methodzoo.shared.modules import count_parameters
from methodzoo.shared.parallel import cpu_count, process_map
from methodzoo.shared.progress import progress
from methodzoo.shared.seed import seeded
from methodzoo.shared.timing import synchronize
from methodzoo.shared.train import (
    LinearWarmup,
    Trainer,
    TrainerOptions,
    WarmupCosine,
    distributed_session,
    save_weights,
    setup_distributed,
)
from methodzoo.shared.train.distributed import broadcast_values, launched_by_torchrun
from methodzoo.train_large_compress.config import (
    BudgetUnit,
    LanguageConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
)
from methodzoo.train_large_compress.flops import TRAINING_MULTIPLIER, training_step_flops
from methodzoo.train_large_compress.synthetic import SyntheticLanguage, SyntheticTranslation
from methodzoo.train_large_compress.tasks import (
    BlockSource,
    MaskedLMTask,
    PretrainingTask,
    SyntheticSource,
    TranslationTask,
)

CORPUS_FILE = "corpus.safetensors"
TOKENIZER_FILE = "tokenizer.json"
RESULTS_FILE = "sweep.json"
clock = time.perf_counter  # the wall clock of training steps (a test replaces it)


@dataclass(frozen=True)
class Evaluation:
    """Validation loss after ``step`` steps, ``flops`` training FLOPs and ``seconds`` of training."""

    step: int
    flops: float
    seconds: float
    val_loss: float


@dataclass(frozen=True)
class MarkCheckpoint:
    """The checkpoint kept for the equal-compute mark ``budget`` (in the run's unit)."""

    index: int
    budget: float
    step: int
    flops: float
    seconds: float
    val_loss: float
    path: str

    def compute(self, unit: BudgetUnit) -> float:
        return self.flops if unit == "flops" else self.seconds


@dataclass
class RunResult:
    """One size, one seed: its curve, its equal-compute checkpoints and its cost per step."""

    label: str
    model: dict[str, Any]
    task: str
    seed: int
    parameters: int
    flops_per_step: float
    closed_form_flops_per_step: float
    steps: int = 0
    seconds: float = 0.0
    epochs_seen: float = 0.0
    evaluations: list[Evaluation] = field(default_factory=list)
    marks: list[MarkCheckpoint] = field(default_factory=list)

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.model)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        values = dict(data)
        values["evaluations"] = [Evaluation(**e) for e in data["evaluations"]]
        values["marks"] = [MarkCheckpoint(**m) for m in data["marks"]]
        return cls(**values)


@dataclass(frozen=True)
class RunSpec:
    """Everything one run needs, picklable for a worker process."""

    model: ModelConfig
    train: TrainConfig
    sweep: SweepConfig
    language: LanguageConfig
    seed: int
    out_dir: str
    corpus: str | None = None
    checkpoint_every: int = 0
    resume: bool = False
    show_progress: bool | None = False

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) / f"{self.model.label}-seed{self.seed}"


class RunProgress:
    """The runner's own state, checkpointed with the trainer's so that resuming is exact."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.evaluations: list[Evaluation] = []
        self.marks: list[MarkCheckpoint] = []
        self.step_times: list[float] = []

    def state_dict(self) -> dict[str, Any]:
        return {"json": json.dumps({"seconds": self.seconds, "step_times": self.step_times[-20:],
                                    "evaluations": [asdict(e) for e in self.evaluations],
                                    "marks": [asdict(m) for m in self.marks]})}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        data = json.loads(state["json"])
        self.seconds = data["seconds"]
        self.step_times = list(data["step_times"])
        self.evaluations = [Evaluation(**e) for e in data["evaluations"]]
        self.marks = [MarkCheckpoint(**m) for m in data["marks"]]


def build_task(spec: RunSpec, device: torch.device) -> PretrainingTask:
    """The pretraining task of a run: synthetic language, its translation task, or packed real text."""
    language = SyntheticLanguage(spec.language)
    if spec.sweep.task == "seq2seq":
        return TranslationTask(SyntheticTranslation(language), spec.train, spec.seed, device)
    if spec.sweep.data == "synthetic":
        return MaskedLMTask(SyntheticSource(language), spec.train, spec.seed, device)
    if spec.corpus is None:
        raise UserError(f"data={spec.sweep.data} needs a prepared corpus (run through sweep())")
    from safetensors.torch import load_file

    blocks = load_file(spec.corpus)
    return MaskedLMTask(BlockSource(blocks["train"], blocks["validation"], int(blocks["vocab_size"].item())),
                        spec.train, spec.seed, device)


@dataclass(frozen=True)
class WarmupLinearDecay:
    """RoBERTa's schedule: linear warm-up, then linear decay to 0 at ``total_steps``."""

    total_steps: int
    warmup_steps: int

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        return max(0.0, (self.total_steps - step) / max(1, self.total_steps - self.warmup_steps))


def learning_rate_factor(train: TrainConfig, total_steps: int) -> Callable[[int], float]:
    """Linear warm-up to the peak, then constant, linear decay or cosine to 0 at ``total_steps``
    (the run's own step count under a FLOP budget; ``max_steps`` under a wall-clock one)."""
    warmup = min(train.warmup_steps, total_steps)
    if train.schedule == "constant":
        return LinearWarmup(warmup)
    if train.schedule == "cosine":
        return WarmupCosine(total_steps=total_steps, warmup_steps=warmup)
    return WarmupLinearDecay(total_steps, warmup)


def _optimizer(model: torch.nn.Module, train: TrainConfig) -> torch.optim.Optimizer:
    """AdamW without weight decay on biases and LayerNorms (RoBERTa / BERT practice)."""
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "norm" not in n]
    rest = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "norm" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": train.weight_decay},
                              {"params": rest, "weight_decay": 0.0}],
                             lr=train.lr, betas=(0.9, train.beta2), eps=train.eps)


def count_step_flops(task: PretrainingTask, model: torch.nn.Module, spec: RunSpec) -> tuple[float, float]:
    """(counted, closed-form) FLOPs of one training step on the full batch: the core's counter
    on one forward pass (attention included) times :data:`~.flops.TRAINING_MULTIPLIER`, and the
    closed form of :mod:`.flops` as a check."""
    from methodzoo.shared.compress import count_flops

    length = spec.sweep.length
    counted = TRAINING_MULTIPLIER * count_flops(model, *task.example_inputs(spec.train.batch_size)).flops
    closed = training_step_flops(model_config_of(model), task.name, spec.train.batch_size, length, length - 1)
    return float(counted), float(closed)


def model_config_of(model: torch.nn.Module) -> ModelConfig:
    config = getattr(model, "config", None)
    if not isinstance(config, ModelConfig):
        raise TypeError(f"{type(model).__name__} has no ModelConfig")
    return config


def run_one(spec: RunSpec) -> RunResult:
    """Train one size with one seed until its budget is spent (see the module docstring)."""
    threads = torch.get_num_threads()
    if spec.sweep.threads is not None:
        torch.set_num_threads(spec.sweep.threads)
    try:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return _run(spec, setup_distributed(spec.sweep.device))  # the sweep's process group
        with distributed_session(spec.sweep.device) as context:
            return _run(spec, context)
    finally:
        torch.set_num_threads(threads)


def _run(spec: RunSpec, context: Any) -> RunResult:
    device = context.device
    task = build_task(spec, device)
    with seeded(spec.seed):
        model = task.build_model(spec.model).to(device)
    config = model_config_of(model)
    flops_per_step, closed_form = count_step_flops(task, model, spec)
    unit, budget = spec.sweep.unit, spec.sweep.budget
    budget_steps = int(budget // flops_per_step) if unit == "flops" else spec.train.max_steps
    total_steps = min(spec.train.max_steps, budget_steps)
    if unit == "flops" and total_steps < 1:
        raise UserError(f"budget {budget:.3g} FLOPs is less than one training step of {config.label} "
                        f"({flops_per_step:.3g} FLOPs)")
    optimizer = _optimizer(model, spec.train)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate_factor(spec.train, total_steps))
    state = RunProgress()
    run_dir = spec.run_dir
    trainer = Trainer(model, optimizer, scheduler=scheduler,
                      options=TrainerOptions(grad_clip_norm=spec.train.grad_clip_norm, progress=False,
                                             keep_checkpoints=1, accumulation=spec.train.accumulation,
                                             micro_batch_seed=spec.seed),
                      checkpoint_dir=run_dir / "checkpoints",
                      config={"model": config.to_dict(), "train": spec.train.to_dict(), "sweep": spec.sweep.to_dict()},
                      extra_state={"progress": state}, distributed=context)
    if spec.resume:
        trainer.resume()
    result = RunResult(label=config.label, model=config.to_dict(), task=task.name, seed=spec.seed,
                       parameters=count_parameters(model), flops_per_step=flops_per_step,
                       closed_form_flops_per_step=closed_form)
    marks = spec.sweep.mark_budgets()
    mark_steps = [int(m // flops_per_step) for m in marks] if unit == "flops" else []

    def evaluate() -> Evaluation:
        record = Evaluation(trainer.step, trainer.step * flops_per_step, state.seconds,
                            task.validation_loss(model))
        if not state.evaluations or state.evaluations[-1].step != record.step:
            state.evaluations.append(record)
        return state.evaluations[-1]

    def keep_mark(index: int) -> None:
        record = evaluate()
        path = run_dir / f"mark-{index + 1}.safetensors"
        if context.is_main:
            save_weights(path, model, config={"model": config.to_dict(), "task": task.name},
                         metadata={"step": trainer.step, "flops": record.flops, "seconds": record.seconds,
                                   "budget": marks[index], "unit": unit})
        state.marks.append(MarkCheckpoint(index + 1, marks[index], trainer.step, record.flops, record.seconds,
                                          record.val_loss, str(path)))

    def pending_marks() -> list[int]:
        done = {m.index - 1 for m in state.marks}
        return [i for i in range(len(marks)) if i not in done]

    if trainer.step == 0 and not state.evaluations:
        evaluate()
    warm_up(task, model, spec.train)
    bar = progress(total=total_steps if unit == "flops" else None, desc=f"{config.label} seed {spec.seed}",
                   enabled=spec.show_progress and context.is_main)
    bar.update(trainer.step)
    try:
        while trainer.step < total_steps:
            if unit == "flops":
                for index in pending_marks():
                    if mark_steps[index] == trainer.step:
                        keep_mark(index)
            else:
                expected = statistics.median(state.step_times[-10:]) if state.step_times else 0.0
                for index in pending_marks():
                    if state.seconds <= marks[index] < state.seconds + expected:
                        keep_mark(index)
                if not pending_marks() or state.seconds + expected > budget:
                    break
            synchronize(device)
            start = clock()
            trainer.train_step(lambda step, micro: task.training_loss(model, step, micro))
            synchronize(device)
            elapsed = clock() - start
            if context.enabled:  # every process follows rank 0's clock, so all stop at the same step
                elapsed = float(broadcast_values(torch.tensor([elapsed], dtype=torch.float64), context)[0])
            state.seconds += elapsed
            state.step_times.append(elapsed)
            del state.step_times[:-50]
            bar.update(1)
            if trainer.step % spec.train.eval_every == 0:
                evaluate()
                bar.set_postfix({"val_loss": f"{state.evaluations[-1].val_loss:.3f}"}, refresh=False)
            if spec.checkpoint_every and trainer.step % spec.checkpoint_every == 0:
                trainer.save_checkpoint()
        if unit == "flops":
            for index in pending_marks():
                if mark_steps[index] <= trainer.step:
                    keep_mark(index)
        evaluate()
    finally:
        bar.close()
    if spec.checkpoint_every:
        trainer.save_checkpoint()
    result.steps = trainer.step
    result.seconds = state.seconds
    result.epochs_seen = task.epochs_seen(trainer.step)
    result.evaluations = list(state.evaluations)
    result.marks = sorted(state.marks, key=lambda m: m.index)
    return result


def warm_up(task: PretrainingTask, model: torch.nn.Module, train: TrainConfig) -> None:
    """One training step on a throwaway copy, so that one-time costs (lazy imports, allocator and
    kernel initialisation) do not land in the first timed step of the run."""
    copy = deepcopy(model)
    optimizer = _optimizer(copy, train)
    task.training_loss(copy, 0).backward()
    optimizer.step()


def select_checkpoint(marks: Sequence[MarkCheckpoint], budget: float, unit: BudgetUnit) -> MarkCheckpoint:
    """The checkpoint with the most compute not above ``budget`` (FLOPs or seconds)."""
    within = [m for m in marks if m.compute(unit) <= budget]
    if not within:
        smallest = min((m.compute(unit) for m in marks), default=float("nan"))
        raise UserError(f"no checkpoint within a budget of {budget:.4g} {unit} (the smallest used {smallest:.4g})")
    return max(within, key=lambda m: (m.compute(unit), m.step))


@dataclass
class SweepResult:
    """Every run of a sweep, with the configurations that produced them."""

    sweep: SweepConfig
    train: TrainConfig
    language: LanguageConfig
    runs: list[RunResult]
    out_dir: str

    def labels(self) -> list[str]:
        """Size labels from the cheapest to the most expensive per step."""
        cost = {r.label: r.flops_per_step for r in self.runs}
        return sorted(cost, key=cost.__getitem__)

    def runs_of(self, label: str) -> list[RunResult]:
        return sorted((r for r in self.runs if r.label == label), key=lambda r: r.seed)

    def to_dict(self) -> dict[str, Any]:
        return {"sweep": self.sweep.to_dict(), "train": self.train.to_dict(), "language": self.language.to_dict(),
                "runs": [r.to_dict() for r in self.runs], "out_dir": self.out_dir}

    def save(self) -> Path:
        return write_json(Path(self.out_dir) / RESULTS_FILE, self.to_dict())

    @classmethod
    def load(cls, folder: str | Path) -> SweepResult:
        path = Path(folder) / RESULTS_FILE
        if not path.is_file():
            raise UserError(f"no sweep results in {folder} (expected {RESULTS_FILE}; run `sweep --out {folder}`)")
        data = json.loads(path.read_text())
        return cls(SweepConfig.from_dict(data["sweep"]), TrainConfig.from_dict(data["train"]),
                   LanguageConfig.from_dict(data["language"]), [RunResult.from_dict(r) for r in data["runs"]],
                   str(folder))


def grid(sweep: SweepConfig, vocab_size: int | None = None) -> list[ModelConfig]:
    """The sizes of a sweep: every depth with every width, cheapest first."""
    sizes = [ModelConfig(vocab_size=vocab_size or sweep.vocab_size, width=w, depth=d, max_length=sweep.length,
                         dropout=sweep.dropout, decoder_depth=d if sweep.task == "seq2seq" else 0)
             for d in sweep.depths for w in sweep.widths]
    return sorted(sizes, key=lambda c: training_step_flops(c, sweep.task, 1, sweep.length, sweep.length - 1))


def prepare_corpus(sweep: SweepConfig, out_dir: Path, archive: str | None = None) -> tuple[str, int]:
    """Train the tokenizer on the real corpus and pack it into blocks, once for all runs.
    Returns (path of the packed blocks, vocabulary size)."""
    from safetensors.torch import save_file

    from methodzoo.shared.io import atomic_write
    from methodzoo.train_large_compress.corpus import (
        corpus_sentences,
        pack_blocks,
        split_blocks,
        train_tokenizer,
    )

    sentences = corpus_sentences(sweep.data, root=sweep.data_root, archive=archive)
    tokenizer = train_tokenizer(sentences, vocab_size=sweep.vocab_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out_dir / TOKENIZER_FILE))
    train, validation = split_blocks(pack_blocks(sentences, tokenizer, sweep.length))
    vocab_size = tokenizer.get_vocab_size()
    path = out_dir / CORPUS_FILE
    atomic_write(path, lambda temp: save_file({"train": train.contiguous(), "validation": validation.contiguous(),
                                              "vocab_size": torch.tensor(vocab_size)}, str(temp)))
    return str(path), vocab_size


def sweep(config: SweepConfig, train: TrainConfig, out_dir: str | Path, *, language: LanguageConfig | None = None,
          archive: str | None = None, checkpoint_every: int = 0, resume: bool = False,
          show_progress: bool | None = None) -> SweepResult:
    """Train every size of ``config`` with every seed under the budget; write ``sweep.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    language = language or LanguageConfig(vocab_size=config.vocab_size, length=config.length)
    check(language.length == config.length and language.vocab_size == config.vocab_size,
          "the language's length and vocab_size must match the sweep's ({} and {})", config.length, config.vocab_size)
    corpus, vocab_size = None, config.vocab_size
    if config.task == "mlm" and config.data != "synthetic":
        corpus, vocab_size = prepare_corpus(config, out, archive)
    specs = [RunSpec(size, train, config, language, seed, str(out), corpus, checkpoint_every, resume,
                     show_progress=False)
             for size in reversed(grid(config, vocab_size))  # the most expensive first
             for seed in range(config.seed, config.seed + config.seeds)]
    distributed = launched_by_torchrun()
    on_gpu = not config.device.startswith("cpu") and torch.cuda.is_available()
    workers = 1 if distributed or on_gpu else (config.workers or cpu_count())
    if workers == 1:
        specs = [replace(s, show_progress=show_progress) for s in specs]
    bar = progress(total=len(specs), desc="sweep runs", enabled=show_progress)
    try:
        if distributed:  # one process group for all the runs, each data-parallel over the processes
            with distributed_session(config.device):
                results = [run_one(spec) for spec in specs]
        else:
            results = process_map(run_one, specs, workers=workers, threads_per_worker=config.threads,
                                  on_done=lambda _: bar.update(1))
    finally:
        bar.close()
    result = SweepResult(config, train, language, results, str(out))
    if _is_main_rank():
        result.save()
    return result


def _is_main_rank() -> bool:
    import os

    return os.environ.get("RANK", "0") == "0"
