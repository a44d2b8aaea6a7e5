"""Module-level oracles: each simulated module against its closed form or autograd."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from transformers.activations import ACT2FN

from methodzoo.shared.errors import ConfigError
from methodzoo.tint import (
    FiniteDifferenceBackward,
    Gate,
    LinearBackwardDescent,
    LinearForward,
    PredictionLossGradient,
    SlotNorm,
    SoftmaxAttention,
    TinTConfig,
    TinTDims,
    stack_rows,
    unstack_rows,
)
from methodzoo.tint.reference import normalize

DIMS = TinTDims(D=12, S=3, n_heads=3, head_dim=4, T_max=10)
T = 7
TRAIN_LEN = 4
DT = torch.float64


def _setup(generator: torch.Generator):
    K, N = DIMS.K, DIMS.K + T
    positions = torch.eye(DIMS.P, dtype=DT)[:N]
    idx = torch.arange(N)
    tok = idx >= K
    masks = {
        "token_to_prefix": (tok[:, None] & ~tok[None])[None],
        "token_to_token": (tok[:, None] & tok[None])[None],
        "causal": (tok[:, None] & tok[None] & (idx[None] <= idx[:, None]))[None],
        "prefix_to_train": (~tok[:, None] & (tok & (idx < K + TRAIN_LEN))[None])[None],
    }
    return positions, masks


def _tokens(values: torch.Tensor) -> torch.Tensor:
    """(B, T, D) values -> TinT hidden (B, K + T, H) with zero prefix rows."""
    B = values.shape[0]
    hidden = torch.zeros(B, DIMS.K + T, DIMS.H, dtype=DT)
    hidden[:, DIMS.K:, :DIMS.D] = values
    return hidden


def _load(hidden: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    return torch.cat([bank.expand(hidden.shape[0], *bank.shape), hidden[:, DIMS.K:]], 1)


def _rand(generator, *shape):
    return torch.randn(*shape, generator=generator, dtype=DT)


def test_stack_unstack_round_trip():
    g = torch.Generator().manual_seed(0)
    W, b = _rand(g, 12, 12), _rand(g, 12)
    bank = stack_rows(W, b, DIMS.S, DIMS.H)
    assert bank.shape == (DIMS.K, DIMS.H)
    W2, b2 = unstack_rows(bank, DIMS.D, DIMS.S)
    assert torch.equal(W, W2) and torch.equal(b, b2)
    # prefix j holds rows jS .. jS + S - 1
    assert torch.equal(bank[1, :DIMS.D], W[DIMS.S])


def test_gates_are_zero_one():
    positions, _ = _setup(torch.Generator())
    for rows, expect_prefix in (("prefix", 1.0), ("token", 0.0)):
        g = Gate(DIMS, rows, 10.0).double()(positions)[:, 0]
        assert torch.allclose(g[:DIMS.K], torch.full((DIMS.K,), expect_prefix, dtype=DT), atol=1e-6)
        assert torch.allclose(g[DIMS.K:], torch.full((T,), 1.0 - expect_prefix, dtype=DT), atol=1e-6)


def test_linear_forward_is_exact():
    g = torch.Generator().manual_seed(1)
    positions, masks = _setup(g)
    W, b, x = _rand(g, 12, 12), _rand(g, 12), _rand(g, 2, T, 12)
    module = LinearForward(DIMS, 10.0).double()
    out = module(_load(_tokens(x), stack_rows(W, b, DIMS.S, DIMS.H)), positions, masks)
    assert torch.allclose(out[:, DIMS.K:, :DIMS.D], x @ W.t() + b, atol=1e-5)
    assert out[:, DIMS.K:, DIMS.D:].abs().max() < 1e-12  # nothing leaks outside slot 0


def test_linear_backward_and_descent_are_exact():
    g = torch.Generator().manual_seed(2)
    positions, masks = _setup(g)
    W, b, x, dy = _rand(g, 12, 12), _rand(g, 12), _rand(g, 2, T, 12), _rand(g, 2, T, 12)
    eta = 0.05
    bank = stack_rows(W, b, DIMS.S, DIMS.H)
    module = LinearBackwardDescent(DIMS, 10.0, eta).double()
    out = module(_load(_tokens(dy), bank), positions, masks, memory=_tokens(x))
    assert torch.allclose(out[:, DIMS.K:, :DIMS.D], dy @ W, atol=1e-5)  # dx = W^T dy
    W_new, b_new = unstack_rows(out[:, :DIMS.K], DIMS.D, DIMS.S)
    train_dy, train_x = dy[:, :TRAIN_LEN], x[:, :TRAIN_LEN]
    assert torch.allclose(W_new, W - eta * train_dy.transpose(1, 2) @ train_x, atol=1e-5)
    assert torch.allclose(b_new, b - eta * train_dy.sum(1), atol=1e-5)
    # LayerNorm's bias-only descent: diag(gamma) is left unchanged
    gamma = _rand(g, 12)
    bias_only = LinearBackwardDescent(DIMS, 10.0, eta, weight_scale=0.0).double()
    out = bias_only(_load(_tokens(dy), stack_rows(torch.diag(gamma), b, DIMS.S, DIMS.H)), positions, masks,
                    memory=_tokens(x))
    W_new, b_new = unstack_rows(out[:, :DIMS.K], DIMS.D, DIMS.S)
    assert torch.allclose(W_new, torch.diag(gamma).expand_as(W_new), atol=1e-7)
    assert torch.allclose(b_new, b - eta * train_dy.sum(1), atol=1e-5)


def test_softmax_attention_forward_and_stop_gradient_backward():
    g = torch.Generator().manual_seed(3)
    positions, masks = _setup(g)
    q, k, v, dy = (_rand(g, 2, T, 12) for _ in range(4))
    h, hd = DIMS.n_heads, DIMS.head_dim

    def heads(z):
        return z.view(2, T, h, hd).transpose(1, 2)

    causal = torch.ones(T, T, dtype=torch.bool).tril()
    probs = ((heads(q) @ heads(k).transpose(-1, -2)) / math.sqrt(hd)).masked_fill(~causal, -math.inf).softmax(-1)
    expected = (probs @ heads(v)).transpose(1, 2).reshape(2, T, 12)
    forward = SoftmaxAttention(DIMS, 10.0).double()
    out = forward(_tokens(q), positions, masks, query=_tokens(q), key=_tokens(k), value=_tokens(v))
    assert torch.allclose(out[:, DIMS.K:, :DIMS.D], expected, atol=1e-5)
    # backward: dv = autograd with the probabilities detached
    vv = v.clone().requires_grad_(True)
    y = (probs.detach() @ heads(vv)).transpose(1, 2).reshape(2, T, 12)
    (dv_expected,) = torch.autograd.grad(y, vv, dy)
    backward = SoftmaxAttention(DIMS, 10.0, backward=True).double()
    dv = backward(_tokens(dy), positions, masks, query=_tokens(q), key=_tokens(k))
    assert torch.allclose(dv[:, DIMS.K:, :DIMS.D], dv_expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["gelu_new", "layernorm", "rmsnorm"])
def test_finite_difference_backward_error_is_first_order(kind):
    g = torch.Generator().manual_seed(4)
    positions, _masks = _setup(g)
    x, dy = _rand(g, 2, T, 12), _rand(g, 2, T, 12)
    fn = ACT2FN[kind] if kind.startswith("gelu") else SlotNorm(DIMS, kind, 1e-5).function
    xx = x.clone().requires_grad_(True)
    (vjp,) = torch.autograd.grad(fn(xx), xx, dy)
    errors = []
    for eps in (1e-2, 5e-3, 2.5e-3):
        module = FiniteDifferenceBackward(DIMS, 10.0, fn, eps).double()
        dx = module(_tokens(dy), positions, memory=_tokens(x))[:, DIMS.K:, :DIMS.D]
        errors.append((dx - vjp).abs().max().item())
    assert errors[0] < 1e-1
    for big, small in itertools.pairwise(errors):
        assert 1.6 < big / small < 2.4, errors  # halving eps halves the error: O(eps)


def test_prediction_loss_gradient_matches_autograd():
    g = torch.Generator().manual_seed(5)
    positions, masks = _setup(g)
    V = 9
    E = _rand(g, V, 12)
    ids = torch.randint(0, V, (2, T), generator=g)
    h = _rand(g, 2, T, 12)
    hh = h.clone().requires_grad_(True)
    logits = hh @ E.t()
    loss = F.cross_entropy(logits[:, :TRAIN_LEN - 1].reshape(-1, V), ids[:, 1:TRAIN_LEN].reshape(-1), reduction="sum")
    (expected,) = torch.autograd.grad(loss, hh)
    raw = _tokens(E[ids])
    rows = torch.zeros(1, DIMS.K + T, 1, dtype=DT)
    rows[:, DIMS.K:DIMS.K + TRAIN_LEN - 1] = 1.0
    module = PredictionLossGradient(DIMS, 10.0).double()
    out = module(_tokens(h), positions, masks, raw, E, rows)
    assert torch.allclose(out[:, DIMS.K:, :DIMS.D], expected, atol=1e-6)


def test_slot_norm_matches_layer_norm():
    g = torch.Generator().manual_seed(6)
    x = _rand(g, 3, 12)
    assert torch.allclose(normalize(x, "layernorm", 1e-5), F.layer_norm(x, (12,), eps=1e-5), atol=1e-10)


def test_layer_norm_gain_descent_is_the_diagonal_update():
    """ln_update_bias_only=False: gamma <- gamma - eta sum_t dy_t * x_t, beta as before, and the
    off-diagonal entries of diag(gamma) stay exactly zero; dx = diag(gamma) dy as before."""
    g = torch.Generator().manual_seed(9)
    positions, masks = _setup(g)
    gamma, beta, x, dy = _rand(g, 12), _rand(g, 12), _rand(g, 2, T, 12), _rand(g, 2, T, 12)
    eta = 0.05
    module = LinearBackwardDescent(DIMS, 10.0, eta, diagonal=True).double()
    out = module(_load(_tokens(dy), stack_rows(torch.diag(gamma), beta, DIMS.S, DIMS.H)), positions, masks,
                 memory=_tokens(x))
    assert torch.allclose(out[:, DIMS.K:, :DIMS.D], dy * gamma, atol=1e-5)
    W_new, b_new = unstack_rows(out[:, :DIMS.K], DIMS.D, DIMS.S)
    train_dy, train_x = dy[:, :TRAIN_LEN], x[:, :TRAIN_LEN]
    expected = gamma - eta * (train_dy * train_x).sum(1)  # (2, D)
    assert torch.allclose(torch.diagonal(W_new, dim1=-2, dim2=-1), expected, atol=1e-5)
    off_diagonal = W_new * (1 - torch.eye(12, dtype=DT))
    assert off_diagonal.abs().max() < 1e-7  # gates are 1 - 4e-9, not exactly 1
    assert torch.allclose(b_new, beta - eta * train_dy.sum(1), atol=1e-5)


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="train_fraction"):
        TinTConfig(train_fraction=1.0)
    with pytest.raises(ConfigError, match="rows_per_prefix"):
        TinTConfig(rows_per_prefix=0)
    assert TinTConfig.from_json(TinTConfig(learning_rate=0.5).to_json()).learning_rate == 0.5
