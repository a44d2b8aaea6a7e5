"""Configurations: a Transformer's size, the synthetic language, one training run, a sweep over
sizes under a compute budget, and the compression grid applied afterwards.

Defaults follow the paper's RoBERTa recipe where it applies (post-LayerNorm encoder, GELU, learned
positions, tied input/output embeddings, AdamW with β₂ = 0.98 and ε = 1e-6, weight decay 0.01,
linear warm-up, 15 % masking split 80/10/10) and the paper's size grid scaled down
(widths 64–256 × depths 2–6 instead of 256–1536 × 3–24; FFN 4d; head width 32).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Task = Literal["mlm", "seq2seq"]
DataSource = Literal["synthetic", "snli", "movies", "folder"]
BudgetUnit = Literal["flops", "seconds"]
Schedule = Literal["constant", "linear", "cosine"]


@dataclass(frozen=True)
class ModelConfig(Config):
    """A Transformer encoder (``decoder_depth=0``) or encoder–decoder of a given width and depth.

    ``heads=None`` means ``width // 32`` (at least one) and ``ffn=None`` means ``4 * width``.
    """

    vocab_size: int = field(default=512, metadata={"help": "vocabulary size V (special tokens included)"})
    width: int = field(default=64, metadata={"help": "hidden width d"})
    depth: int = field(default=2, metadata={"help": "encoder layers"})
    heads: int | None = field(default=None, metadata={"help": "attention heads (None: width // 32)"})
    ffn: int | None = field(default=None, metadata={"help": "feed-forward width (None: 4 · width)"})
    decoder_depth: int = field(default=0, metadata={"help": "decoder layers (0: encoder only)"})
    max_length: int = field(default=128, metadata={"help": "longest sequence (learned positions)"})
    dropout: float = field(default=0.1, metadata={"help": "dropout on attention and residual branches (RoBERTa: 0.1)"})
    norm_first: bool = field(default=False, metadata={"help": "pre-LayerNorm blocks (RoBERTa: post-LN, False)"})

    def validate(self) -> None:
        check(self.vocab_size >= 8, "vocab_size must be >= 8, got {}", self.vocab_size)
        check(self.width >= 1, "width must be >= 1, got {}", self.width)
        check(self.depth >= 1, "depth must be >= 1, got {}", self.depth)
        check(self.num_heads >= 1 and self.width % self.num_heads == 0,
              "width ({}) must be a multiple of heads ({})", self.width, self.num_heads)
        check(self.ffn is None or self.ffn >= 1, "ffn must be >= 1, got {}", self.ffn)
        check(self.decoder_depth >= 0, "decoder_depth must be >= 0, got {}", self.decoder_depth)
        check(self.max_length >= 2, "max_length must be >= 2, got {}", self.max_length)
        check(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1), got {}", self.dropout)

    @property
    def num_heads(self) -> int:
        return self.heads if self.heads is not None else max(1, self.width // 32)

    @property
    def ffn_width(self) -> int:
        return self.ffn if self.ffn is not None else 4 * self.width

    @property
    def label(self) -> str:
        """A short name for tables and plots: ``d64-L2`` (``d64-L2+2`` with a decoder)."""
        decoder = f"+{self.decoder_depth}" if self.decoder_depth else ""
        return f"d{self.width}-L{self.depth}{decoder}"


@dataclass(frozen=True)
class LanguageConfig(Config):
    """A seeded synthetic language: a mixture of Zipfian hidden Markov models (one per topic).

    A sentence draws a topic, then a hidden state chain from that topic's sparse transition
    matrix (Dirichlet rows with concentration ``transition_concentration``), then one word per
    state from the state's Zipfian emission distribution (exponent ``zipf_exponent`` over its own
    random ordering of the words). ``seed`` fixes the language itself; samples come from
    separate generators, so the data is unlimited.
    """

    vocab_size: int = field(default=512, metadata={"help": "tokens, the 5 special ones included"})
    states: int = field(default=32, metadata={"help": "hidden states of each HMM"})
    topics: int = field(default=4, metadata={"help": "HMMs in the mixture; a sentence's topic is the downstream label"})
    length: int = field(default=64, metadata={"help": "tokens per sequence, [CLS] and [SEP] included"})
    zipf_exponent: float = field(default=1.1, metadata={"help": "exponent s of the emission weights 1/rank^s"})
    transition_concentration: float = field(default=0.1, metadata={"help": "Dirichlet concentration of transition rows"})
    seed: int = field(default=0, metadata={"help": "seed of the language's parameters"})

    def validate(self) -> None:
        check(self.vocab_size >= 8, "vocab_size must be >= 8, got {}", self.vocab_size)
        check(self.states >= 2, "states must be >= 2, got {}", self.states)
        check(self.topics >= 1, "topics must be >= 1, got {}", self.topics)
        check(self.length >= 3, "length must be >= 3, got {}", self.length)
        check(self.zipf_exponent >= 0, "zipf_exponent must be >= 0, got {}", self.zipf_exponent)
        check(self.transition_concentration > 0, "transition_concentration must be positive, got {}",
              self.transition_concentration)
        check(self.seed >= 0, "seed must be >= 0, got {}", self.seed)


@dataclass(frozen=True)
class TrainConfig(Config):
    """One training run: batch, optimiser (AdamW as RoBERTa), schedule, masking and evaluation."""

    batch_size: int = field(default=32, metadata={"help": "sequences per step (over all processes)"})
    accumulation: int = field(default=1, metadata={"help": "micro-batches per step on each process"})
    lr: float = field(default=1e-3, metadata={"help": "peak learning rate (shared by every size)"})
    warmup_steps: int = field(default=100, metadata={"help": "linear warm-up steps"})
    schedule: Schedule = field(default="constant", metadata={"help": "after warm-up: constant, linear decay to 0 (RoBERTa) or cosine, over the run's steps"})
    max_steps: int = field(default=100_000, metadata={"help": "step limit (the compute budget usually stops first)"})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay"})
    beta2: float = field(default=0.98, metadata={"help": "AdamW β₂ (RoBERTa: 0.98)"})
    eps: float = field(default=1e-6, metadata={"help": "AdamW ε (RoBERTa: 1e-6)"})
    grad_clip_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping (None: off)"})
    mask_probability: float = field(default=0.15, metadata={"help": "MLM: fraction of positions predicted"})
    mask_token_fraction: float = field(default=0.8, metadata={"help": "MLM: of those, replaced by [MASK]"})
    random_token_fraction: float = field(default=0.1, metadata={"help": "MLM: of those, replaced by a random word"})
    eval_every: int = field(default=50, metadata={"help": "evaluate validation loss every N steps"})
    eval_batches: int = field(default=4, metadata={"help": "validation batches per evaluation (fixed set)"})

    def validate(self) -> None:
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.accumulation >= 1, "accumulation must be >= 1, got {}", self.accumulation)
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(self.warmup_steps >= 0, "warmup_steps must be >= 0, got {}", self.warmup_steps)
        check(self.max_steps >= 1, "max_steps must be >= 1, got {}", self.max_steps)
        check(self.weight_decay >= 0, "weight_decay must be >= 0, got {}", self.weight_decay)
        check(0 <= self.beta2 < 1, "beta2 must be in [0, 1), got {}", self.beta2)
        check(self.eps > 0, "eps must be positive, got {}", self.eps)
        check(self.grad_clip_norm is None or self.grad_clip_norm > 0, "grad_clip_norm must be positive, got {}",
              self.grad_clip_norm)
        check(0 < self.mask_probability < 1, "mask_probability must be in (0, 1), got {}", self.mask_probability)
        check(self.mask_token_fraction >= 0 and self.random_token_fraction >= 0
              and self.mask_token_fraction + self.random_token_fraction <= 1,
              "mask_token_fraction + random_token_fraction must be in [0, 1], got {} + {}",
              self.mask_token_fraction, self.random_token_fraction)
        check(self.eval_every >= 1, "eval_every must be >= 1, got {}", self.eval_every)
        check(self.eval_batches >= 1, "eval_batches must be >= 1, got {}", self.eval_batches)


@dataclass(frozen=True)
class SweepConfig(Config):
    """A grid of sizes trained under one compute budget (FLOPs or seconds), several seeds each.

    Every width is paired with every depth. Checkpoints are kept at ``marks`` equal-compute
    marks ``budget · k / marks``, k = 1 … marks.
    """

    task: Task = field(default="mlm", metadata={"help": "mlm (encoder) or seq2seq (encoder-decoder, synthetic translation)"})
    data: DataSource = field(default="synthetic", metadata={"help": "synthetic language, snli, movies, or folder (plain text)"})
    data_root: str | None = field(default=None, metadata={"help": "folder of .txt files for data=folder"})
    widths: tuple[int, ...] = field(default=(64, 128, 256), metadata={"help": "hidden widths of the grid"})
    depths: tuple[int, ...] = field(default=(2, 4, 6), metadata={"help": "depths of the grid"})
    budget: float = field(default=2e13, metadata={"help": "compute budget per run, in `unit`"})
    unit: BudgetUnit = field(default="flops", metadata={"help": "flops (training FLOPs, counted) or seconds (training wall-clock)"})
    marks: int = field(default=4, metadata={"help": "equal-compute checkpoints per run"})
    seeds: int = field(default=1, metadata={"help": "seeds per size"})
    seed: int = field(default=0, metadata={"help": "first seed"})
    length: int = field(default=64, metadata={"help": "sequence length"})
    vocab_size: int = field(default=512, metadata={"help": "vocabulary (synthetic language; tokenizer for real text)"})
    dropout: float = field(default=0.1, metadata={"help": "dropout of every size"})
    workers: int | None = field(default=None, metadata={"help": "runs side by side (None: one per CPU; 1 on CUDA)"})
    threads: int | None = field(default=None, metadata={"help": "torch threads per run (None: the CPUs shared among the workers)"})
    device: str = field(default="cpu", metadata={"help": "cpu, cuda, cuda:N, auto"})

    def validate(self) -> None:
        check(len(self.widths) >= 1 and all(w >= 1 for w in self.widths), "widths must be >= 1, got {}", self.widths)
        check(len(self.depths) >= 1 and all(d >= 1 for d in self.depths), "depths must be >= 1, got {}", self.depths)
        check(self.budget > 0, "budget must be positive, got {}", self.budget)
        check(self.marks >= 1, "marks must be >= 1, got {}", self.marks)
        check(self.seeds >= 1, "seeds must be >= 1, got {}", self.seeds)
        check(self.seed >= 0, "seed must be >= 0, got {}", self.seed)
        check(self.length >= 4, "length must be >= 4, got {}", self.length)
        check(self.workers is None or self.workers >= 1, "workers must be >= 1, got {}", self.workers)
        check(self.threads is None or self.threads >= 1, "threads must be >= 1, got {}", self.threads)
        check(self.data != "folder" or self.data_root is not None, "data=folder needs data_root (a folder of .txt files)")
        check(self.task == "mlm" or self.data == "synthetic",
              "task=seq2seq uses the synthetic translation task; set data=synthetic")

    def mark_budgets(self) -> list[float]:
        """The equal-compute marks, smallest first; the last is the budget itself."""
        return [self.budget * k / self.marks for k in range(1, self.marks + 1)]


@dataclass(frozen=True)
class CompressConfig(Config):
    """The compression grid applied to a trained checkpoint (all through ``methodzoo.shared.compress``).

    Magnitude pruning is global over every linear weight (tied embedding included), one-shot or
    iterative with fine-tuning; quantization is uniform fake quantization of the same weights,
    post-training (PTQ) or quantization-aware (QAT, straight-through gradient).
    """

    sparsities: tuple[float, ...] = field(default=(0.3, 0.5, 0.7, 0.8, 0.9), metadata={"help": "one-shot pruning targets"})
    bits: tuple[int, ...] = field(default=(8, 6, 4, 3, 2), metadata={"help": "post-training quantization bit widths"})
    iterative: bool = field(default=True, metadata={"help": "also prune iteratively with fine-tuning"})
    iterative_sparsities: tuple[float, ...] = field(default=(0.3, 0.5, 0.7, 0.8, 0.9),
                                                    metadata={"help": "iterative pruning targets"})
    prune_rounds: int = field(default=4, metadata={"help": "iterative pruning: rounds to the target sparsity"})
    qat: bool = field(default=True, metadata={"help": "also quantization-aware training"})
    qat_bits: tuple[int, ...] = field(default=(8, 6, 4, 3, 2), metadata={"help": "QAT bit widths"})
    finetune_steps: int = field(default=100, metadata={"help": "training steps of iterative pruning and of QAT"})
    finetune_lr: float = field(default=1e-4, metadata={"help": "learning rate of that fine-tuning"})
    joint_sparsities: tuple[float, ...] = field(
        default=(), metadata={"help": "also prune one-shot to each of these, then quantize to each bit width (PTQ)"})
    per_channel: bool = field(default=True, metadata={"help": "one scale per output channel (False: per tensor)"})
    symmetric: bool = field(default=True, metadata={"help": "symmetric grid (0 maps to 0)"})
    scope: Literal["global", "layer"] = field(default="global", metadata={"help": "pruning threshold: global or per layer"})
    index_bits: int = field(default=5, metadata={"help": "bits of a sparse relative index (Deep Compression)"})
    int8_latency: bool = field(default=True, metadata={"help": "measure real int8 latency against fp32"})

    def validate(self) -> None:
        for name in ("sparsities", "iterative_sparsities", "joint_sparsities"):
            values = getattr(self, name)
            check(all(0 < s < 1 for s in values), "{} must be in (0, 1), got {}", name, values)
        for name in ("bits", "qat_bits"):
            check(all(2 <= b <= 8 for b in getattr(self, name)), "{} must be in 2..8, got {}", name, getattr(self, name))
        check(self.prune_rounds >= 1, "prune_rounds must be >= 1, got {}", self.prune_rounds)
        check(self.finetune_steps >= 0, "finetune_steps must be >= 0, got {}", self.finetune_steps)
        check(self.finetune_lr > 0, "finetune_lr must be positive, got {}", self.finetune_lr)
        check(1 <= self.index_bits <= 16, "index_bits must be in 1..16, got {}", self.index_bits)
