"""Configuration of a TinT construction (Panigrahi et al., "Trainable Transformer in Transformer").

Symbols follow the paper's notes: the auxiliary model has width ``D``; each of the ``K`` prefix
tokens stores ``S`` rows of a ``D x D`` weight matrix (``K = D / S``) plus their ``S`` bias entries,
so the TinT width is ``H = D (S + 1)``; positions are one-hot of dimension ``K + T_max``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check


@dataclass(frozen=True)
class TinTConfig(Config):
    """How the TinT simulates one (or a few) SGD steps of its auxiliary model inside a forward pass.

    Defaults are the paper's: ``train_fraction=0.5``, finite-difference ``epsilon=1e-3``, gates
    ``tanh(10 w)``, stop-gradient through attention scores, LayerNorm updates on the bias only,
    gradients summed (not averaged) over the training tokens.
    """

    rows_per_prefix: int = field(default=2, metadata={"help": "S: weight rows stored per prefix token (K = D / S prefixes, TinT width H = D (S + 1))"})
    learning_rate: float = field(default=1e-4, metadata={"help": "eta_sum: inner SGD learning rate on the SUMMED training loss (equivalent mean-loss rate is eta_sum * T_train)"})
    n_simulation_layers: int | None = field(default=None, metadata={"help": "n: backward and descent through the top n auxiliary layers (default: all)"})
    n_forward_backward: int = field(default=1, metadata={"help": "number of simulated SGD steps (forward, backward, descent) before the evaluation forward"})
    train_fraction: float = field(default=0.5, metadata={"help": "the first train_fraction of each sequence is the training part; the rest is evaluated"})
    backprop_through_attention: bool = field(default=True, metadata={"help": "propagate dx = W_V^T dv below each attention (False: residual path only)"})
    ln_update_bias_only: bool = field(default=True, metadata={"help": "update only LayerNorm biases (the paper's default); False also updates the gains gamma"})
    finite_difference_epsilon: float = field(default=1e-3, metadata={"help": "epsilon of the first-order LayerNorm/activation backward (f(x + eps dy) - f(x)) / eps"})
    gate_scale: float = field(default=10.0, metadata={"help": "gates are tanh(gate_scale * w) with w in {0, 1}"})
    reuse_forward_blocks: bool = field(default=False, metadata={"help": "share one set of forward modules across layers (their weights carry no auxiliary weights)"})
    reuse_backward_blocks: bool = field(default=False, metadata={"help": "share one set of backward/descent modules across the simulated layers"})
    sparse_projections: bool = field(default=False, metadata={"help": "store the construction's mostly-zero projections as their nonzero entries (same outputs up to round-off; fewer parameters, faster on CPU)"})
    max_positions: int | None = field(default=None, metadata={"help": "T_max: longest input (default: the auxiliary model's context); one-hot positions have K + T_max entries"})
    loss: Literal["prediction"] = field(default="prediction", metadata={"help": "top-level gradient: next-token cross-entropy through the tied embeddings"})

    def validate(self) -> None:
        check(self.rows_per_prefix >= 1, "rows_per_prefix (S) must be >= 1, got {}", self.rows_per_prefix)
        check(self.learning_rate >= 0, "learning_rate must be >= 0, got {}", self.learning_rate)
        check(self.n_simulation_layers is None or self.n_simulation_layers >= 1,
              "n_simulation_layers must be >= 1 or None, got {}", self.n_simulation_layers)
        check(self.n_forward_backward >= 1, "n_forward_backward must be >= 1, got {}", self.n_forward_backward)
        check(0.0 < self.train_fraction < 1.0, "train_fraction must be in (0, 1), got {}", self.train_fraction)
        check(self.finite_difference_epsilon > 0, "finite_difference_epsilon must be > 0, got {}",
              self.finite_difference_epsilon)
        check(self.gate_scale > 0, "gate_scale must be > 0, got {}", self.gate_scale)
        check(self.max_positions is None or self.max_positions >= 2,
              "max_positions must be >= 2 or None, got {}", self.max_positions)


def split_lengths(length: int, train_fraction: float) -> tuple[int, int]:
    """``(train_len, T_train)``: the training part is tokens ``[0, train_len)``; its loss has
    ``T_train = train_len - 1`` next-token terms (targets inside the training part)."""
    train_len = int(length * train_fraction)
    if train_len < 2 or train_len >= length:
        from methodzoo.shared.errors import UserError

        raise UserError(f"a sequence of length {length} with train_fraction {train_fraction} leaves "
                        f"{train_len} training tokens; need at least 2 and at least one evaluated token")
    return train_len, train_len - 1
