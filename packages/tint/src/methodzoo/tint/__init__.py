"""methodzoo-tint: Trainable Transformer in Transformer (Panigrahi, Malladi, Xia, Arora; ICML 2024,
arXiv 2307.01189).

A TinT is a transformer whose single forward pass simulates a smaller *auxiliary* causal LM,
computes an approximate gradient of its next-token loss on the first part of the context,
takes an SGD step on its top layers and re-evaluates the rest of the context::

    from methodzoo.tint import TinTConfig, build_tint, simulate_one_step
    tint = build_tint(gpt2_or_opt_model, TinTConfig(rows_per_prefix=2, learning_rate=1e-4))
    logits_after = tint(input_ids)          # (B, T, V), after the internal SGD step
    reference = simulate_one_step(gpt2_or_opt_model, input_ids, tint.config)  # torch.func
"""

from methodzoo.tint.auxiliary import AuxSpec, aux_spec, aux_weights, updated_parameter_names
from methodzoo.tint.config import TinTConfig, split_lengths
from methodzoo.tint.model import TinT, TinTOutput, build_tint, tint_dims, tint_parameter_count
from methodzoo.tint.modules import (
    ActivationForward,
    DiagonalRestriction,
    FiniteDifferenceBackward,
    Gate,
    LinearBackwardDescent,
    LinearForward,
    PredictionLossGradient,
    SlotNorm,
    SoftmaxAttention,
    TinTAttention,
    TinTDims,
    stack_rows,
    unstack_rows,
)
from methodzoo.tint.reference import (
    Approximations,
    StepResult,
    aux_forward,
    dynamic_eval_step,
    eval_loss,
    simulate_one_step,
    summed_train_loss,
    true_gradient_step,
)
from methodzoo.tint.sparse import SparseProjection, sparsify_projections

__all__ = [  # noqa: RUF022 (grouped by role, not sorted)
    # configuration
    "TinTConfig",
    "Approximations",
    # the method
    "TinT",
    "TinTOutput",
    "StepResult",
    # verbs
    "build_tint",
    "simulate_one_step",
    "dynamic_eval_step",
    "true_gradient_step",
    "tint_parameter_count",
    # auxiliary model
    "AuxSpec",
    "aux_spec",
    "aux_weights",
    "aux_forward",
    "updated_parameter_names",
    # simulation modules
    "TinTDims",
    "tint_dims",
    "TinTAttention",
    "Gate",
    "LinearForward",
    "LinearBackwardDescent",
    "SoftmaxAttention",
    "SlotNorm",
    "ActivationForward",
    "FiniteDifferenceBackward",
    "PredictionLossGradient",
    "DiagonalRestriction",
    "SparseProjection",
    "sparsify_projections",
    "stack_rows",
    "unstack_rows",
    # losses and splits
    "summed_train_loss",
    "eval_loss",
    "split_lengths",
]
