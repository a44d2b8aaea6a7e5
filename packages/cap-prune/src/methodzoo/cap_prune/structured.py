"""Structured pruning of attention heads and FFN neurons by first-order mask importance
(Michel et al. 2019, as CAP-f uses it).

Importance of a head (neuron) = Σ over training examples of ``|∂L/∂m|`` for its mask ``m = 1``,
with the full CAP loss; scores are L2-normalised within each layer and ranked across layers.
Each step prunes up to ``round(ratio · layers · heads)`` heads and ``round(ratio · layers ·
intermediate)`` neurons in all (cumulative), never the last head of a layer.

The budget is computed from the model's own layer and head counts. The official code calls its
``determine_pruning_sequence`` with the two swapped, which is harmless for 12 × 12 BERT-base but
gives MiniLM-L6 (6 layers × 12 heads) an FFN budget of 12 × 1536 neurons and trips its
one-head-per-layer assertion at 90 %; :func:`structured_budget` is the corrected version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from methodzoo.cap_prune.encoder import EncoderConfig, MaskableBertModel
from methodzoo.shared.errors import ConfigError, UserError


@dataclass(frozen=True)
class StructuredBudget:
    """How many heads and FFN neurons the whole model has, and how many a ratio prunes."""

    layers: int
    heads_per_layer: int
    neurons_per_layer: int

    @property
    def total_heads(self) -> int:
        return self.layers * self.heads_per_layer

    @property
    def total_neurons(self) -> int:
        return self.layers * self.neurons_per_layer

    def heads_to_prune(self, ratio: float) -> int:
        # At least one head must survive in every layer.
        return min(round(ratio * self.total_heads), self.total_heads - self.layers)

    def neurons_to_prune(self, ratio: float) -> int:
        return min(round(ratio * self.total_neurons), self.total_neurons)


def structured_budget(config: EncoderConfig) -> StructuredBudget:
    """The budget of an uncompacted encoder, from its real layer, head and FFN sizes."""
    if len(set(config.heads)) != 1 or len(set(config.intermediate)) != 1:
        raise UserError("structured pruning needs equal layers (prune before compact())")
    return StructuredBudget(config.num_layers, config.heads[0], config.intermediate[0])


@dataclass(frozen=True)
class MaskImportance:
    """Per-layer L2-normalised importance: ``heads`` (L, H) and ``neurons`` (L, I)."""

    heads: torch.Tensor
    neurons: torch.Tensor


def normalize_per_layer(scores: torch.Tensor) -> torch.Tensor:
    """Divide each layer's scores by their L2 norm (Michel et al.'s ``normalize_scores_by_layer``)."""
    return scores / (scores.norm(dim=-1, keepdim=True) + 1e-20)


def mask_importance(encoder: MaskableBertModel,
                    loss_of_batch: Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor],
                    batches: int) -> MaskImportance:
    """Σ over ``batches`` batches of ``|∂ loss_of_batch(b, head_mask, ffn_mask) / ∂ mask|`` at
    masks of ones, normalised per layer.

    ``loss_of_batch(b, head_mask, ffn_mask)`` runs the model on batch ``b`` with those masks
    multiplied into its own (so pruned heads keep their zero gate) and returns that batch's loss;
    the gradients are summed over the batches (Michel et al.'s ``compute_heads_importance``).
    """
    budget = structured_budget(encoder.config)
    device = encoder.head_gate(0).device
    heads = torch.zeros(budget.layers, budget.heads_per_layer, device=device)
    neurons = torch.zeros(budget.layers, budget.neurons_per_layer, device=device)
    for batch in range(batches):
        head_mask = torch.ones_like(heads, requires_grad=True)
        ffn_mask = torch.ones_like(neurons, requires_grad=True)
        loss = loss_of_batch(batch, head_mask, ffn_mask)
        head_grad, ffn_grad = torch.autograd.grad(loss, [head_mask, ffn_mask], allow_unused=True)
        if head_grad is None or ffn_grad is None:
            raise UserError(f"batch {batch}: the loss does not depend on the head or FFN masks")
        heads += head_grad.abs()
        neurons += ffn_grad.abs()
    return MaskImportance(normalize_per_layer(heads), normalize_per_layer(neurons))


def choose_head_mask(importance: torch.Tensor, current: torch.Tensor, total_pruned: int) -> torch.Tensor:
    """A (L, H) 0/1 mask with ``total_pruned`` heads off in all, the already pruned ones
    included, the least important going first and at least one head left in every layer."""
    layers, heads = importance.shape
    if not 0 <= total_pruned <= layers * (heads - 1):
        raise ConfigError(f"cannot prune {total_pruned} of {layers}×{heads} heads and keep one per layer")
    mask = current.clone().float()
    needed = total_pruned - int((mask == 0).sum())
    if needed <= 0:
        return mask
    order = torch.argsort(importance.flatten().masked_fill(mask.flatten() == 0, float("inf")))
    for position in order.tolist():
        if needed == 0:
            break
        layer, head = divmod(position, heads)
        if mask[layer, head] == 0 or int(mask[layer].sum()) <= 1:
            continue
        mask[layer, head] = 0
        needed -= 1
    return mask


def choose_neuron_mask(importance: torch.Tensor, current: torch.Tensor, total_pruned: int) -> torch.Tensor:
    """A (L, I) 0/1 mask with ``total_pruned`` FFN neurons off in all, least important first."""
    if not 0 <= total_pruned <= importance.numel():
        raise ConfigError(f"cannot prune {total_pruned} of {importance.numel()} FFN neurons")
    mask = current.clone().float()
    needed = total_pruned - int((mask == 0).sum())
    if needed <= 0:
        return mask
    scores = importance.flatten().masked_fill(mask.flatten() == 0, float("inf"))
    flat = mask.flatten()
    flat[torch.topk(scores, needed, largest=False).indices] = 0
    return flat.view_as(mask)
