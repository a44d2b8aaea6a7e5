"""End-to-end checks of the TinT construction on tiny random GPT-2 / OPT / Llama models."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from torch import nn
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    OPTConfig,
    OPTForCausalLM,
)

from methodzoo.shared.errors import UserError
from methodzoo.shared.modules import count_parameters
from methodzoo.shared.seed import seeded
from methodzoo.tint import (
    TinTConfig,
    aux_forward,
    aux_spec,
    aux_weights,
    build_tint,
    dynamic_eval_step,
    simulate_one_step,
    tint_parameter_count,
    true_gradient_step,
    unstack_rows,
)
from methodzoo.tint.sparse import SparseProjection, sparsify_projections

V, T = 40, 12


def _build(factory, seed: int):
    with seeded(seed):
        return factory().eval()


def gpt2(layers: int = 2):
    return _build(lambda: GPT2LMHeadModel(GPT2Config(
        n_embd=24, n_layer=layers, n_head=3, n_positions=16, vocab_size=V, resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, bos_token_id=0, eos_token_id=0)), 0)


def opt(layers: int = 2):
    return _build(lambda: OPTForCausalLM(OPTConfig(
        hidden_size=24, num_hidden_layers=layers, num_attention_heads=2, ffn_dim=48, vocab_size=V,
        max_position_embeddings=16, word_embed_proj_dim=24, dropout=0.0, bos_token_id=0, eos_token_id=0,
        pad_token_id=1)), 1)


def llama():
    return _build(lambda: LlamaForCausalLM(LlamaConfig(
        hidden_size=24, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        intermediate_size=40, vocab_size=V, max_position_embeddings=16, tie_word_embeddings=True,
        bos_token_id=0, eos_token_id=0, pad_token_id=1)), 2)


def _ids(seed: int, batch: int = 2) -> torch.Tensor:
    return torch.randint(0, V, (batch, T), generator=torch.Generator().manual_seed(seed))


def _flat(updates: dict[str, torch.Tensor], names) -> torch.Tensor:
    return torch.cat([updates[n].flatten() for n in names])


@pytest.mark.parametrize("factory", [gpt2, opt])
def test_forward_before_update_matches_auxiliary(factory):
    aux = factory()
    ids = _ids(0)
    tint = build_tint(aux, TinTConfig(rows_per_prefix=3, learning_rate=1e-2))
    with torch.no_grad():
        out = tint.simulate(ids)
        expected = aux(ids).logits
    assert (out.logits_before - expected).abs().max() < 1e-4


@pytest.mark.parametrize("factory", [gpt2, opt])
def test_update_matches_reference_and_true_sgd(factory):
    aux = factory().double()
    ids = _ids(1)
    config = TinTConfig(rows_per_prefix=2, learning_rate=1e-2)
    tint = build_tint(aux, config)
    with torch.no_grad():
        out = tint.simulate(ids)
    reference = simulate_one_step(aux, ids, config)
    # float64: the TinT and the torch.func reference agree to 1e-6 (fp32: about 1e-4, FD round-off)
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-6
    assert (out.logits_after - out.logits_before).abs().max() > 1e-2  # the step did something
    simulated = tint.simulated_updates(out)
    names = list(reference.updates)
    assert set(simulated) == set(names)
    assert torch.allclose(_flat(simulated, names), _flat(reference.updates, names), atol=1e-8)
    # direction against exact autograd SGD on the same parameters
    true = true_gradient_step(aux, ids, config)
    cosine = torch.nn.functional.cosine_similarity(_flat(simulated, names), _flat(true, names), 0)
    assert cosine > 0.9, float(cosine)


def test_float32_agreement_with_reference():
    aux = gpt2()
    ids = _ids(2)
    config = TinTConfig(rows_per_prefix=2, learning_rate=1e-2)
    with torch.no_grad():
        out = build_tint(aux, config).simulate(ids)
    reference = simulate_one_step(aux, ids, config)
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-3


@pytest.mark.parametrize("change", [
    {"n_simulation_layers": 1},
    {"backprop_through_attention": False},
    {"n_forward_backward": 2},
    {"reuse_forward_blocks": True, "reuse_backward_blocks": True, "rows_per_prefix": 4},
])
def test_variants_match_reference(change):
    aux = opt(layers=3).double()
    ids = _ids(3)
    config = TinTConfig(learning_rate=1e-2, **change)
    tint = build_tint(aux, config)
    with torch.no_grad():
        out = tint.simulate(ids)
    reference = simulate_one_step(aux, ids, config)
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-6
    names = list(reference.updates)
    assert torch.allclose(_flat(tint.simulated_updates(out), names), _flat(reference.updates, names), atol=1e-8)


def test_zero_learning_rate_is_plain_forward():
    aux = gpt2()
    ids = _ids(4)
    with torch.no_grad():
        out = build_tint(aux, TinTConfig(learning_rate=0.0))(ids)
        expected = aux(ids).logits
    assert (out - expected).abs().max() < 1e-4


def test_summed_eta_equals_mean_eta_times_train_tokens():
    """Dynamic evaluation (mean loss, eta_mean = eta_sum * T_train, real torch.optim.SGD on the HF
    model with only TinT's parameters) equals the exact reference on the summed loss."""
    aux = gpt2().double()
    ids = _ids(5)
    config = TinTConfig(learning_rate=1e-2)
    exact = true_gradient_step(aux, ids, config)
    dynamic = dynamic_eval_step(aux, ids, config)
    names = list(exact)
    assert torch.allclose(_flat(dynamic.updates, names), _flat(exact, names), atol=1e-10)
    # parameters TinT does not update (W_Q, W_K, LayerNorm gains) stay put in the baseline too
    assert dynamic.logits_before.shape == dynamic.logits_after.shape == (2, T, V)


@pytest.mark.parametrize("factory", [gpt2, opt])
@pytest.mark.parametrize("config", [
    TinTConfig(rows_per_prefix=1), TinTConfig(rows_per_prefix=3, n_simulation_layers=1),
    TinTConfig(rows_per_prefix=2, reuse_forward_blocks=True, max_positions=14),
    TinTConfig(rows_per_prefix=2, sparse_projections=True, ln_update_bias_only=False),
])
def test_parameter_count_formula_matches_numel(factory, config):
    aux = factory()
    tint = build_tint(aux, config)
    assert tint_parameter_count(aux_spec(aux), config) == count_parameters(tint)


def test_opt_125m_shape_is_under_two_billion_without_allocating():
    spec = replace(aux_spec(opt()), hidden=768, n_layers=12, n_heads=12, n_kv_heads=12, head_dim=64,
                   intermediate=3072, vocab=50272, max_positions=2048)
    assert spec.parameter_count() == 125_239_296  # OPT-125M
    assert tint_parameter_count(spec, TinTConfig(rows_per_prefix=2)) < 2e9
    assert tint_parameter_count(spec, TinTConfig(rows_per_prefix=3, reuse_forward_blocks=True,
                                                 reuse_backward_blocks=True)) < 2e9


def test_llama_reference_matches_transformers_and_sgd():
    aux = llama().double()
    ids = _ids(6)
    spec = aux_spec(aux)
    logits, _ = aux_forward(spec, aux_weights(aux), ids)
    with torch.no_grad():
        assert (logits - aux(ids).logits).abs().max() < 1e-5  # RMSNorm (HF computes it in fp32), rotary, GQA, gated MLP
    config = TinTConfig(learning_rate=1e-2)
    exact = true_gradient_step(aux, ids, config)
    dynamic = dynamic_eval_step(aux, ids, config)
    names = list(exact)
    # HF's RMSNorm runs in float32 even for a float64 model, hence the looser tolerance
    assert torch.allclose(_flat(dynamic.updates, names), _flat(exact, names), atol=1e-7)


def test_llama_tint_matches_reference():
    """Llama through the TinT modules: RMSNorm, rotary (products with position tables), GQA
    (grouped key/value heads) and the gated MLP (self-only linear-attention products)."""
    aux = llama().double()
    ids = _ids(8)
    config = TinTConfig(rows_per_prefix=2, learning_rate=1e-2)
    tint = build_tint(aux, config)
    assert tint_parameter_count(aux_spec(aux), config) == count_parameters(tint)
    with torch.no_grad():
        out = tint.simulate(ids)
        assert (out.logits_before - aux(ids).logits).abs().max() < 1e-5
    reference = simulate_one_step(aux, ids, config)
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-6
    assert (out.logits_after - out.logits_before).abs().max() > 1e-2
    names = list(reference.updates)
    simulated = tint.simulated_updates(out)
    assert set(simulated) == set(names)  # v, o, gate, up, down of every layer; no biases, no norms
    assert torch.allclose(_flat(simulated, names), _flat(reference.updates, names), atol=1e-8)
    cosine = torch.nn.functional.cosine_similarity(_flat(simulated, names),
                                                   _flat(true_gradient_step(aux, ids, config), names), 0)
    assert cosine > 0.9


def test_clear_errors():
    aux = gpt2()
    tint = build_tint(aux, TinTConfig(max_positions=10))
    with pytest.raises(UserError, match="max_positions"):
        tint(_ids(7)[:, :12])
    with pytest.raises(UserError, match="training tokens"):
        tint(_ids(7)[:, :3])
    with pytest.raises(UserError, match="divide"):
        build_tint(aux, TinTConfig(rows_per_prefix=5))
    with pytest.raises(UserError, match="float32"):
        build_tint(gpt2().half())
    projected = OPTForCausalLM(OPTConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, ffn_dim=16,
                                         vocab_size=V, do_layer_norm_before=False, word_embed_proj_dim=4))
    with pytest.raises(UserError, match="word_embed_proj_dim"):
        build_tint(projected)


def _float64_initialised(model):
    """Perturb every weight by float64 noise so that no weight is representable in float32."""
    model = model.double()
    generator = torch.Generator().manual_seed(11)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1e-3 * torch.randn(p.shape, generator=generator, dtype=torch.float64))
    return model


@pytest.mark.parametrize("factory", [gpt2, opt])
def test_float64_auxiliary_keeps_float64_precision(factory):
    """Regression: build_tint once rounded the weights (and the construction) to float32 before
    moving to float64, so a float64 TinT differed from its float64 auxiliary by ~1e-8. The gates are
    sharpened (tanh(20) = 1 - 8e-18) because the paper's tanh(10) = 1 - 4e-9 alone leaves ~1e-8."""
    aux = _float64_initialised(factory())
    ids = _ids(9)
    config = TinTConfig(rows_per_prefix=2, learning_rate=1e-2, gate_scale=20.0)
    tint = build_tint(aux, config)
    assert all(p.dtype == torch.float64 for p in tint.parameters())
    with torch.no_grad():
        out = tint.simulate(ids)
        expected = aux(ids).logits
    assert (out.logits_before - expected).abs().max() < 1e-11
    reference = simulate_one_step(aux, ids, config)
    assert (out.logits_after - out.logits_before).abs().max() > 1e-2
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-9


@pytest.mark.parametrize("factory", [gpt2, opt, llama])
def test_query_and_key_weights_bit_identical_after_step(factory):
    """Stop-gradient through the attention scores: W_Q, W_K (and the LayerNorm gains under the
    bias-only update) leave the internal step bit for bit, while W_V moves."""
    aux = factory()
    ids = _ids(10)
    tint = build_tint(aux, TinTConfig(rows_per_prefix=2, learning_rate=1e-2))
    with torch.no_grad():
        out = tint.simulate(ids)
    D, S = tint.dims.D, tint.dims.S
    for layer in range(tint.spec.n_layers):
        for name in ("q", "k"):
            before = tint.prefixes[f"l{layer}_{name}"].expand_as(out.prefixes[f"l{layer}_{name}"])
            assert torch.equal(out.prefixes[f"l{layer}_{name}"], before)
        for norm in ("norm1", "norm2"):
            gain_after, _ = unstack_rows(out.prefixes[f"l{layer}_{norm}"], D, S)
            gain_before, _ = unstack_rows(tint.prefixes[f"l{layer}_{norm}"], D, S)
            assert torch.equal(gain_after, gain_before.expand_as(gain_after))
        value = f"l{layer}_v"
        assert not torch.equal(out.prefixes[value], tint.prefixes[value].expand_as(out.prefixes[value]))
    names = tint.simulated_updates(out)
    assert not any(n.endswith((".q.weight", ".k.weight", ".q.bias", ".k.bias")) for n in names)


def test_per_layer_cosines_cover_the_simulated_layers():
    """Per-layer cosines to exact SGD: one per simulated layer; with one layer it is the overall one."""
    from methodzoo.tint.evaluation import evaluate_tint

    aux = gpt2(layers=2)
    ids = _ids(12, batch=1)
    both = evaluate_tint(aux, ids, TinTConfig(learning_rate=1e-2), reference_sequences=1)
    assert len(both["cosine_vs_sgd_per_layer_mean"]) == 2
    assert all(0.5 < c <= 1.0 + 1e-6 for c in both["cosine_vs_sgd_per_layer_min"])
    top = evaluate_tint(aux, ids, TinTConfig(learning_rate=1e-2, n_simulation_layers=1), reference_sequences=1)
    assert top["cosine_vs_sgd_per_layer_mean"] == pytest.approx([top["cosine_vs_sgd_mean"]])


@pytest.mark.parametrize("factory", [gpt2, llama])
def test_norm_gain_updates_match_reference(factory):
    """ln_update_bias_only=False: TinT also descends the LayerNorm (RMSNorm) gains; it matches the
    torch.func reference, whose gain gradient matches a real SGD step on the transformers model."""
    aux = factory().double()
    ids = _ids(13)
    config = TinTConfig(rows_per_prefix=2, learning_rate=1e-2, ln_update_bias_only=False)
    tint = build_tint(aux, config)
    assert tint_parameter_count(aux_spec(aux), config) == count_parameters(tint)
    with torch.no_grad():
        out = tint.simulate(ids)
    reference = simulate_one_step(aux, ids, config)
    names = list(reference.updates)
    gains = [n for n in names if n.endswith(("norm1.weight", "norm2.weight"))]
    assert len(gains) == 2 * aux_spec(aux).n_layers
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-6
    simulated = tint.simulated_updates(out)
    assert set(simulated) == set(names)
    assert _flat(reference.updates, gains).abs().max() > 1e-4  # the gains do move
    assert torch.allclose(_flat(simulated, names), _flat(reference.updates, names), atol=1e-8)
    # the reference's exact gradient on the gains is autograd's on the transformers model
    exact, dynamic = true_gradient_step(aux, ids, config), dynamic_eval_step(aux, ids, config)
    tolerance = 1e-10 if factory is gpt2 else 1e-7  # HF's RMSNorm runs in float32
    assert torch.allclose(_flat(dynamic.updates, gains), _flat(exact, gains), atol=tolerance)


def post_ln_opt(layers: int = 2):
    """OPT with opt-350m's block layout (LayerNorm after each residual sum, no final norm) and
    non-trivial LayerNorm affine parameters."""
    model = _build(lambda: OPTForCausalLM(OPTConfig(
        hidden_size=24, num_hidden_layers=layers, num_attention_heads=2, ffn_dim=48, vocab_size=V,
        max_position_embeddings=16, word_embed_proj_dim=24, dropout=0.0, do_layer_norm_before=False,
        bos_token_id=0, eos_token_id=0, pad_token_id=1)), 3)
    generator = torch.Generator().manual_seed(14)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "layer_norm" in name:
                p.add_(0.2 * torch.randn(p.shape, generator=generator))
    return model


def test_post_ln_opt_reference_matches_transformers():
    aux = post_ln_opt().double()
    spec = aux_spec(aux)
    assert spec.post_norm and not spec.final_norm
    ids = _ids(15)
    logits, _ = aux_forward(spec, aux_weights(aux), ids)
    with torch.no_grad():
        assert (logits - aux(ids).logits).abs().max() < 1e-10
    config = TinTConfig(learning_rate=1e-2)
    exact, dynamic = true_gradient_step(aux, ids, config), dynamic_eval_step(aux, ids, config)
    names = list(exact)
    assert torch.allclose(_flat(dynamic.updates, names), _flat(exact, names), atol=1e-10)


@pytest.mark.parametrize("change", [{}, {"backprop_through_attention": False, "ln_update_bias_only": False}])
def test_post_ln_opt_tint_matches_transformers_and_reference(change):
    aux = post_ln_opt()
    ids = _ids(16)
    config = TinTConfig(rows_per_prefix=2, learning_rate=1e-2, **change)
    tint = build_tint(aux, config)
    assert tint_parameter_count(aux_spec(aux), config) == count_parameters(tint)
    with torch.no_grad():
        before = tint.simulate(ids).logits_before
        assert (before - aux(ids).logits).abs().max() < 1e-4
    aux64 = aux.double()
    tint64 = build_tint(aux64, config)
    with torch.no_grad():
        out = tint64.simulate(ids)
    reference = simulate_one_step(aux64, ids, config)
    assert (out.logits_after - out.logits_before).abs().max() > 1e-2
    assert (out.logits_after - reference.logits_after).abs().max() < 1e-6
    names = list(reference.updates)
    simulated = tint64.simulated_updates(out)
    assert set(simulated) == set(names)
    assert torch.allclose(_flat(simulated, names), _flat(reference.updates, names), atol=1e-8)
    cosine = torch.nn.functional.cosine_similarity(_flat(simulated, names),
                                                   _flat(true_gradient_step(aux64, ids, config), names), 0)
    assert cosine > 0.8, float(cosine)


# ----- sparse projections and block-sparse linear attention: same outputs ---------------------

def test_sparse_projection_equals_the_dense_linear():
    generator = torch.Generator().manual_seed(0)
    linear = nn.Linear(12, 7, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[0, 3] = 2.0
        linear.weight[2, [1, 5, 11]] = torch.tensor([1.0, -0.5, 3.0], dtype=torch.float64)
        linear.weight[6, 0] = -1.0  # rows 1, 3, 4, 5 stay zero
    sparse = SparseProjection(linear)
    assert sparse.values.shape == (7, 3) and count_parameters(sparse) == 7 * 3 + 7
    x = torch.randn(2, 5, 12, generator=generator, dtype=torch.float64)
    assert torch.allclose(sparse(x), linear(x), rtol=0, atol=1e-14)


@pytest.mark.parametrize(("factory", "change"), [
    (gpt2, {}),
    (gpt2, {"rows_per_prefix": 4, "ln_update_bias_only": False}),
    (post_ln_opt, {"backprop_through_attention": False}),
    (llama, {}),
])
def test_sparse_tint_matches_dense_tint(factory, change):
    aux = factory().double()
    ids = _ids(20)
    config = TinTConfig(learning_rate=1e-2, **change)
    dense, sparse = build_tint(aux, config), build_tint(aux, config.replace(sparse_projections=True))
    assert any(isinstance(m, SparseProjection) for m in sparse.modules())
    assert count_parameters(sparse) < count_parameters(dense) / 3
    with torch.no_grad():
        a, b = dense.simulate(ids), sparse.simulate(ids)
    assert (a.logits_after - a.logits_before).abs().max() > 1e-2
    assert torch.allclose(b.logits_after, a.logits_after, rtol=0, atol=1e-12)
    for name in a.prefixes:
        assert torch.allclose(b.prefixes[name], a.prefixes[name], rtol=0, atol=1e-12)


def test_sparsify_keeps_dense_layers_dense():
    dense = nn.Sequential(nn.Linear(8, 8), nn.Linear(8, 8))
    assert sparsify_projections(dense) == 0  # random weights: every row is full
    assert all(isinstance(m, nn.Linear) for m in dense)
