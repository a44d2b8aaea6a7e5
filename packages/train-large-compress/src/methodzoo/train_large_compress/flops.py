"""FLOPs of our Transformers in closed form (the paper's accounting, attention included).

Per encoder layer, for batch B, length S, width d and feed-forward width f (Li et al.; Kaplan
et al. 2020 use the same count)::

    MACs = B·S·(4d² + 2·d·f) + 2·B·S²·d

(the four projections, the two feed-forward matrices, then the scores QKᵀ and the weighted
values AV). A decoder layer adds cross-attention: 2·B·T·d² for its query and output
projections, 2·B·S·d² for its keys and values, 2·B·T·S·d for scores and values. Heads add a
LM head's dense layer (B·S·d²) and the output projection onto the V words (B·S·d·V). Embedding
look-ups, normalisation and activations are not counted (as in torch's counter and the paper).

**Units:** FLOPs = 2 × MACs for a forward pass; a training step costs 3 × the forward FLOPs
(the backward pass computes gradients with respect to both inputs and weights: 2 × forward).
The core's counter (``methodzoo.shared.compress.count_flops``) gives the same forward numbers,
which a test checks.
"""

from __future__ import annotations

from methodzoo.train_large_compress.config import ModelConfig, Task

TRAINING_MULTIPLIER = 3


def encoder_layer_macs(batch: int, length: int, width: int, ffn: int) -> int:
    """MACs of one encoder layer: projections, feed-forward, attention scores and values."""
    return batch * length * (4 * width * width + 2 * width * ffn) + 2 * batch * length * length * width


def decoder_layer_macs(batch: int, target_length: int, source_length: int, width: int, ffn: int) -> int:
    """MACs of one decoder layer: causal self-attention (all T² scores are computed),
    cross-attention to S encoder positions, feed-forward."""
    self_attention = batch * target_length * 4 * width * width + 2 * batch * target_length ** 2 * width
    cross_attention = (2 * batch * target_length * width * width + 2 * batch * source_length * width * width
                       + 2 * batch * target_length * source_length * width)
    return self_attention + cross_attention + 2 * batch * target_length * width * ffn


def forward_macs(config: ModelConfig, task: Task | str, batch: int, length: int,
                 target_length: int | None = None, num_classes: int | None = None) -> int:
    """MACs of one forward pass of the model ``task`` builds (``"mlm"``, ``"seq2seq"`` or
    ``"classify"``) on a batch of ``batch`` sequences of ``length`` tokens (seq2seq: source
    ``length`` and decoder inputs ``target_length``)."""
    d, f, vocab = config.width, config.ffn_width, config.vocab_size
    encoder = config.depth * encoder_layer_macs(batch, length, d, f)
    if task == "mlm":
        return encoder + batch * length * d * d + batch * length * d * vocab
    if task == "seq2seq":
        target = target_length if target_length is not None else length
        depth = config.decoder_depth or config.depth
        decoder = depth * decoder_layer_macs(batch, target, length, d, f)
        return encoder + decoder + batch * target * d * vocab
    if task == "classify":
        if num_classes is None:
            raise ValueError("task='classify' needs num_classes")
        return encoder + batch * d * d + batch * d * num_classes
    raise ValueError(f"unknown task {task!r}; valid: mlm, seq2seq, classify")


def forward_flops(config: ModelConfig, task: Task | str, batch: int, length: int,
                  target_length: int | None = None, num_classes: int | None = None) -> int:
    """FLOPs (2 per MAC) of one forward pass; see :func:`forward_macs`."""
    return 2 * forward_macs(config, task, batch, length, target_length, num_classes)


def training_step_flops(config: ModelConfig, task: Task | str, batch: int, length: int,
                        target_length: int | None = None) -> int:
    """FLOPs of one training step: forward and backward, 3 × the forward FLOPs."""
    return TRAINING_MULTIPLIER * forward_flops(config, task, batch, length, target_length)


def parameter_count(config: ModelConfig, task: Task | str = "mlm") -> int:
    """Parameters of the model ``task`` builds, in closed form (a check on the modules)."""
    d, f, vocab = config.width, config.ffn_width, config.vocab_size
    attention = 4 * (d * d + d)
    feed_forward = d * f + f + f * d + d
    encoder_layer = attention + feed_forward + 2 * 2 * d
    embeddings = vocab * d + vocab + config.max_length * d + 2 * d
    total = embeddings + config.depth * encoder_layer + (2 * d if config.norm_first else 0)
    if task == "mlm":
        return total + d * d + d + 2 * d
    if task == "seq2seq":
        depth = config.decoder_depth or config.depth
        decoder_layer = 2 * attention + feed_forward + 3 * 2 * d
        return total + config.max_length * d + 2 * d + depth * decoder_layer + (2 * d if config.norm_first else 0)
    raise ValueError(f"unknown task {task!r}; valid: mlm, seq2seq")
