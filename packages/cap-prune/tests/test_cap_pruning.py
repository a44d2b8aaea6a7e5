"""Unstructured pruners (through the core toolkit) and structured head/neuron selection."""

from __future__ import annotations

import itertools

import pytest
import torch
import transformers

from methodzoo.cap_prune import (
    EncoderConfig,
    MaskableBertForSequenceClassification,
    MaskableBertModel,
    SoftMovementMask,
    UnstructuredConfig,
    UnstructuredPruner,
    choose_head_mask,
    choose_neuron_mask,
    cubic_schedule,
    encoder_sparsity,
    mask_importance,
    structured_budget,
)
from methodzoo.cap_prune.unstructured import prunable_linears, score_parameters
from methodzoo.shared.errors import ConfigError


def _classifier(hf_bert: transformers.BertModel) -> MaskableBertForSequenceClassification:
    return MaskableBertForSequenceClassification.from_hf(hf_bert, num_labels=3,
                                                         generator=torch.Generator().manual_seed(0))


def _inputs() -> tuple[torch.Tensor, torch.Tensor]:
    ids = torch.randint(5, 64, (4, 7), generator=torch.Generator().manual_seed(3))
    return ids, torch.ones_like(ids)


def test_cubic_schedule_is_monotone_and_exact_at_its_boundaries() -> None:
    config = UnstructuredConfig(sparsity=0.9, warmup_ratio=0.1, initial_warmup=2, final_warmup=3)
    schedule = cubic_schedule(config, total_steps=100)
    assert (schedule.start_step, schedule.end_step) == (20, 70)
    values = [schedule.sparsity_at(step) for step in range(101)]
    assert all(a <= b for a, b in itertools.pairwise(values))
    assert values[0] == values[20] == 0.0  # held at thr_i = 1 (nothing pruned) during the warm-up
    assert values[70] == values[100] == 0.9  # and at thr_f for the last 3·W steps
    assert 0.0 < values[21] < values[69] < 0.9
    # s_t = s_f + (s_i − s_f)(1 − (t − t₀)/(t₁ − t₀))³ at the midpoint
    assert values[45] == pytest.approx(0.9 - 0.9 * 0.5**3)


def test_movement_scores_get_the_straight_through_gradient(hf_bert: transformers.BertModel) -> None:
    model = _classifier(hf_bert).eval()
    pruner = UnstructuredPruner(model, UnstructuredConfig(pruner="movement", sparsity=0.5), total_steps=10)
    pruner.update(9)  # final sparsity: half of each matrix masked
    linear = model.bert.layers[0].attention.q_proj
    original = linear.parametrizations.weight.original
    scores = linear.parametrizations.weight[0].scores
    captured: dict[str, torch.Tensor] = {}

    def keep(module: torch.nn.Module, args: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        captured["x"], captured["y"] = args[0], output

    linear.register_forward_hook(keep)
    loss = model(*_inputs()).logits.square().sum()
    score_grad, output_grad = torch.autograd.grad(loss, [scores, captured["y"]])
    # ∂L/∂W' of y = x W'ᵀ + b, summed over batch and tokens, computed by hand.
    weight_grad = torch.einsum("bto,bti->oi", output_grad, captured["x"].detach())
    torch.testing.assert_close(score_grad, weight_grad * original.detach(), atol=1e-6, rtol=1e-4)
    assert int((linear.weight == 0).sum()) == linear.weight.numel() // 2


def test_top_k_keeps_numel_minus_round_sparsity_numel_per_matrix(hf_bert: transformers.BertModel) -> None:
    model = _classifier(hf_bert)
    pruner = UnstructuredPruner(model, UnstructuredConfig(pruner="movement", sparsity=0.9), total_steps=10)
    with torch.no_grad():
        for score in score_parameters(model):
            score.normal_()
    pruner.update(10)
    for _, linear in prunable_linears(model):
        weight = linear.weight
        assert int((weight != 0).sum()) == weight.numel() - round(0.9 * weight.numel())
    pruner.finish()
    assert score_parameters(model) == []
    assert encoder_sparsity(model).sparsity == pytest.approx(0.9, abs=0.01)


def test_sparsity_counts_only_the_six_encoder_matrices(hf_bert: transformers.BertModel) -> None:
    model = _classifier(hf_bert)
    config = model.config
    expected_total = sum(4 * config.hidden_size * h * config.head_dim + 2 * config.hidden_size * i
                         for h, i in zip(config.heads, config.intermediate, strict=True))
    UnstructuredPruner(model, UnstructuredConfig(pruner="magnitude", sparsity=0.5), total_steps=10).update(10)
    with torch.no_grad():  # zeros outside the six matrices must not count
        model.bert.embeddings.word_embeddings.weight.zero_()
        model.classifier.weight.zero_()
        model.bert.pooler.weight.zero_()
    count = encoder_sparsity(model)
    assert count.total == expected_total == 2 * (4 * 32 * 32 + 2 * 32 * 48)
    assert count.pruned == sum(round(0.5 * linear.weight.numel()) for _, linear in prunable_linears(model))


def test_magnitude_masks_change_only_on_pruning_steps(hf_bert: transformers.BertModel) -> None:
    model = _classifier(hf_bert)
    config = UnstructuredConfig(pruner="magnitude", sparsity=0.8, warmup_ratio=0.1, initial_warmup=1,
                                final_warmup=1, mask_update_every=10)
    pruner = UnstructuredPruner(model, config, total_steps=100)
    weight = model.bert.layers[0].attention.k_proj

    def pruned_fraction() -> float:
        return float((weight.weight == 0).float().mean())

    pruner.update(10)
    assert pruned_fraction() == 0.0
    pruner.update(30)
    at_30 = pruned_fraction()
    assert at_30 == pytest.approx(pruner.schedule.sparsity_at(30), abs=1e-3) and at_30 > 0
    pruner.update(35)  # not a pruning step: the mask stays
    assert pruned_fraction() == at_30
    pruner.finish()
    assert pruned_fraction() == pytest.approx(0.8, abs=1e-3)


def test_magnitude_pruning_is_gradual_and_keeps_earlier_zeros(hf_bert: transformers.BertModel) -> None:
    model = _classifier(hf_bert)
    pruner = UnstructuredPruner(model, UnstructuredConfig(pruner="magnitude", sparsity=0.8, warmup_ratio=0.1,
                                                          initial_warmup=1, final_warmup=1), total_steps=50)
    pruner.update(20)
    first = model.bert.layers[1].ffn.ffn_out.weight == 0
    with torch.no_grad():
        model.bert.layers[1].ffn.ffn_out.parametrizations.weight.original.add_(1.0)  # pruned weights grow back?
    pruner.update(30)
    second = model.bert.layers[1].ffn.ffn_out.weight == 0
    assert bool(second[first].all()) and int(second.sum()) > int(first.sum())


def test_soft_movement_threshold_regulariser_and_minimum(hf_bert: transformers.BertModel) -> None:
    model = _classifier(hf_bert)
    config = UnstructuredConfig(pruner="soft_movement", final_lambda=10.0, soft_threshold=0.1)
    pruner = UnstructuredPruner(model, config, total_steps=100)
    masks = pruner.soft_masks()
    assert len(masks) == 12 and all(isinstance(m, SoftMovementMask) for m in masks)
    assert pruner.update(0) == 0.0 and pruner.update(100) == pytest.approx(0.1)
    regularization = pruner.regularization(100)
    assert regularization is not None and float(regularization.detach()) == pytest.approx(10.0 * 0.5)  # σ(0) = 0.5
    with torch.no_grad():
        for mask in masks:
            mask.scores.fill_(-10.0)  # σ(S) ≈ 0 everywhere: below any threshold
    weight = model.bert.layers[0].ffn.ffn_in.weight
    assert int((weight != 0).sum()) == max(1, -(-5 * weight.numel() // 1000))
    pruner.finish()
    assert score_parameters(model) == []


def test_minilm_budget_uses_its_real_layer_and_head_counts() -> None:
    minilm = EncoderConfig(hidden_size=384, head_dim=32, heads=(12,) * 6, intermediate=(1536,) * 6)
    budget = structured_budget(minilm)
    # The official code swaps layers and heads: 12 × 1536 FFN neurons for MiniLM-L6.
    assert budget.total_neurons == 6 * 1536 and budget.total_heads == 72
    assert budget.neurons_to_prune(0.9) == round(0.9 * 6 * 1536)
    assert budget.heads_to_prune(0.9) == 65 <= 72 - 6
    mask = choose_head_mask(torch.rand(6, 12), torch.ones(6, 12), budget.heads_to_prune(0.9))
    assert int(mask.sum()) == 72 - 65 and bool((mask.sum(1) >= 1).all())


def test_head_choice_keeps_one_head_per_layer_and_earlier_prunings() -> None:
    importance = torch.tensor([[0.1, 0.2, 0.3], [0.9, 0.8, 0.7]])
    current = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0]])
    mask = choose_head_mask(importance, current, total_pruned=3)
    assert mask.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]]
    mask = choose_head_mask(importance, current, total_pruned=4)
    assert mask.tolist() == [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    with pytest.raises(ConfigError, match="keep one per layer"):
        choose_head_mask(importance, current, total_pruned=5)
    neurons = choose_neuron_mask(torch.tensor([[3.0, 1.0], [2.0, 4.0]]), torch.ones(2, 2), total_pruned=2)
    assert neurons.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_a_head_without_values_has_zero_importance_and_goes_first(hf_bert: transformers.BertModel) -> None:
    encoder = MaskableBertModel.from_hf(hf_bert)
    with torch.no_grad():
        encoder.layers[1].attention.v_proj.weight[16:24] = 0
        encoder.layers[1].attention.v_proj.bias[16:24] = 0
    inputs = _inputs()

    def loss(batch: int, head_mask: torch.Tensor, ffn_mask: torch.Tensor) -> torch.Tensor:
        return encoder(*inputs, head_mask=head_mask, ffn_mask=ffn_mask).pooler_output.square().sum()

    importance = mask_importance(encoder, loss, batches=2)
    assert importance.heads.shape == (2, 4) and importance.neurons.shape == (2, 48)
    assert float(importance.heads[1, 2]) == 0.0
    torch.testing.assert_close(importance.heads.norm(dim=1), torch.ones(2))
    mask = choose_head_mask(importance.heads, torch.ones(2, 4), 1)
    assert mask[1, 2] == 0 and int(mask.sum()) == 7
