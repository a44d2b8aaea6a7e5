"""The explicit reference: one simulated SGD step written directly with ``torch.func``.

:func:`aux_forward` re-implements the auxiliary forward from its neutral weights
(:func:`methodzoo.tint.auxiliary.aux_weights`), with TinT's approximations as switches
(:class:`Approximations`):

* stop-gradient through attention scores: the softmax probabilities are detached, so only
  ``dv_j = sum_i a_ij dy_i`` is formed and ``W_Q``, ``W_K`` get no gradient;
* ``backprop_through_attention=False`` also blocks ``dx = W_V^T dv`` (residual path only);
* first-order (finite-difference) backward of the normalisation and the activation:
  ``dx = (f(x + eps dy) - f(x)) / eps``.

:func:`simulate_one_step` then takes ``torch.func.grad`` of the summed next-token loss on the
training part with respect to exactly the parameters TinT updates, descends with ``eta_sum``, and
returns the evaluation logits of the updated model: what the TinT forward must reproduce.
:func:`dynamic_eval_step` is the true baseline: a real autograd SGD step on the transformers model.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from transformers.activations import ACT2FN

from methodzoo.tint.auxiliary import (
    AuxSpec,
    aux_spec,
    aux_weights,
    hf_parameter,
    updated_parameter_names,
)
from methodzoo.tint.config import TinTConfig, split_lengths


@dataclass(frozen=True)
class Approximations:
    """TinT's approximations of the backward pass; ``exact()`` turns them all off."""

    stop_gradient_attention: bool = True
    backprop_through_attention: bool = True
    finite_difference_epsilon: float | None = 1e-3

    @classmethod
    def exact(cls) -> Approximations:
        return cls(stop_gradient_attention=False, backprop_through_attention=True,
                   finite_difference_epsilon=None)

    @classmethod
    def from_config(cls, config: TinTConfig) -> Approximations:
        return cls(True, config.backprop_through_attention, config.finite_difference_epsilon)


class _FiniteDifferenceVJP(torch.autograd.Function):
    """``y = f(x)`` whose backward is ``(f(x + eps g) - f(x)) / eps`` (the paper's approximation 2)."""

    @staticmethod
    def forward(x: Tensor, fn, eps: float) -> Tensor:  # type: ignore[override]
        return fn(x)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[override]
        x, fn, eps = inputs
        ctx.save_for_backward(x)
        ctx.fn, ctx.eps = fn, eps

    @staticmethod
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return (ctx.fn(x + ctx.eps * grad) - ctx.fn(x)) / ctx.eps, None, None


def finite_difference_vjp(fn, x: Tensor, eps: float | None) -> Tensor:
    """``fn(x)`` with an exact backward (``eps=None``) or the first-order one."""
    return fn(x) if eps is None else _FiniteDifferenceVJP.apply(x, fn, eps)


def normalize(x: Tensor, kind: str, eps: float) -> Tensor:
    """The parameter-free part of LayerNorm / RMSNorm over the last dimension (width D)."""
    if kind == "layernorm":
        x = x - x.mean(-1, keepdim=True)
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def activation_fn(name: str):
    act = ACT2FN[name]
    return act


def rotary_tables(spec: AuxSpec, length: int, device, dtype) -> tuple[Tensor, Tensor]:
    """cos/sin of Llama's rotary embedding, shape (T, head_dim)."""
    half = spec.head_dim // 2
    inv = 1.0 / (spec.rope_theta ** (torch.arange(0, half, device=device, dtype=torch.float32) / half))
    angles = torch.arange(length, device=device, dtype=torch.float32)[:, None] * inv[None]  # (T, hd/2)
    angles = torch.cat([angles, angles], -1)
    return angles.cos().to(dtype), angles.sin().to(dtype)


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], -1)
    return x * cos + rotated * sin


def _linear(w: dict[str, Tensor], name: str, x: Tensor) -> Tensor:
    return F.linear(x, w[name + ".weight"], w.get(name + ".bias"))


def aux_forward(spec: AuxSpec, w: dict[str, Tensor], input_ids: Tensor,
                approx: Approximations | None = None) -> tuple[Tensor, Tensor]:
    """Logits ``(B, T, V)`` and final hidden ``h`` (after the final norm, ``(B, T, D)``)."""
    approx = approx or Approximations.exact()
    eps_fd = approx.finite_difference_epsilon
    B, T = input_ids.shape
    x = w["embed"][input_ids]  # (B, T, D)
    if spec.positions == "learned":
        x = x + w["pos_embed"][spec.position_offset + torch.arange(T, device=input_ids.device)]
    else:
        cos, sin = rotary_tables(spec, T, x.device, x.dtype)
    causal = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
    act = activation_fn(spec.activation)

    def norm(h: Tensor, name: str) -> Tensor:
        n = finite_difference_vjp(lambda z: normalize(z, spec.norm, spec.norm_eps), h, eps_fd)
        out = n * w[name + ".weight"]
        return out + w[name + ".bias"] if name + ".bias" in w else out

    for i in range(spec.n_layers):
        p = f"layers.{i}."
        a = x if spec.post_norm else norm(x, p + "norm1")
        a_for_values = a if approx.backprop_through_attention else a.detach()
        q = _linear(w, p + "q", a).view(B, T, spec.n_heads, spec.head_dim).transpose(1, 2)  # (B, h, T, hd)
        k = _linear(w, p + "k", a).view(B, T, spec.n_kv_heads, spec.head_dim).transpose(1, 2)
        v = _linear(w, p + "v", a_for_values).view(B, T, spec.n_kv_heads, spec.head_dim).transpose(1, 2)
        if spec.positions == "rotary":
            q, k = _rotate(q, cos, sin), _rotate(k, cos, sin)
        if spec.n_kv_heads != spec.n_heads:
            group = spec.n_heads // spec.n_kv_heads
            k, v = k.repeat_interleave(group, 1), v.repeat_interleave(group, 1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(spec.head_dim)  # (B, h, T, T)
        probs = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        if approx.stop_gradient_attention:
            probs = probs.detach()
        o = (probs @ v).transpose(1, 2).reshape(B, T, spec.hidden)
        x = x + _linear(w, p + "o", o)
        if spec.post_norm:
            x = norm(x, p + "norm1")
        b = x if spec.post_norm else norm(x, p + "norm2")
        if spec.mlp == "gated":
            g = finite_difference_vjp(act, _linear(w, p + "gate", b), eps_fd) * _linear(w, p + "up", b)
            x = x + _linear(w, p + "down", g)
        else:
            g = finite_difference_vjp(act, _linear(w, p + "fc1", b), eps_fd)
            x = x + _linear(w, p + "fc2", g)
        if spec.post_norm:
            x = norm(x, p + "norm2")
    h = norm(x, "final_norm") if spec.final_norm else x
    return h @ w["embed"].t(), h


def summed_train_loss(logits: Tensor, input_ids: Tensor, train_len: int) -> Tensor:
    """Sum (not mean) of next-token cross-entropies whose targets lie in the training part."""
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, :train_len - 1].reshape(-1, V),
                           input_ids[:, 1:train_len].reshape(-1), reduction="sum")


def eval_loss(logits: Tensor, input_ids: Tensor, train_len: int) -> Tensor:
    """Mean next-token cross-entropy on the evaluated part (targets at positions >= train_len)."""
    V = logits.shape[-1]
    return F.cross_entropy(logits[:, train_len - 1:-1].reshape(-1, V), input_ids[:, train_len:].reshape(-1))


@dataclass
class StepResult:
    """What one simulated (or real) SGD step produced."""

    logits_before: Tensor  # (B, T, V)
    logits_after: Tensor  # (B, T, V)
    updates: dict[str, Tensor]  # neutral name -> Delta W, shape of the weight; batch-summed... per example
    train_len: int


def _resolve_layers(spec: AuxSpec, config: TinTConfig) -> int:
    n = config.n_simulation_layers or spec.n_layers
    if n > spec.n_layers:
        from methodzoo.shared.errors import ConfigError

        raise ConfigError(f"n_simulation_layers={n} exceeds the auxiliary's {spec.n_layers} layers")
    return n


def simulate_one_step(aux_model: nn.Module, input_ids: Tensor, config: TinTConfig | None = None,
                      approx: Approximations | None = None) -> StepResult:
    """The reference TinT computation with ``torch.func``: per sequence, ``n_forward_backward``
    steps ``W <- W - eta_sum * grad_W sum_{t in train} CE_t`` on :func:`updated_parameter_names`
    (gradients through :func:`aux_forward` with TinT's approximations), then the evaluation
    forward. ``updates[name]`` has shape ``(B, *W.shape)`` (each sequence fine-tunes its own copy).
    """
    config = config or TinTConfig()
    spec = aux_spec(aux_model)
    approx = approx or Approximations.from_config(config)
    n_sim = _resolve_layers(spec, config)
    train_len, _ = split_lengths(input_ids.shape[1], config.train_fraction)
    weights = {k: v.detach() for k, v in aux_weights(aux_model).items()}
    names = updated_parameter_names(spec, n_sim, norm_gains=not config.ln_update_bias_only)
    eta = config.learning_rate

    def one_sequence(ids: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        ids = ids[None]
        trainable = {n: weights[n] for n in names}

        def loss_fn(params: dict[str, Tensor]) -> Tensor:
            logits, _ = aux_forward(spec, {**weights, **params}, ids, approx)
            return summed_train_loss(logits, ids, train_len)

        params = dict(trainable)
        for _ in range(config.n_forward_backward):
            grads = torch.func.grad(loss_fn)(params)
            params = {n: params[n] - eta * grads[n] for n in names}
        with torch.no_grad():
            before, _ = aux_forward(spec, weights, ids)
            after, _ = aux_forward(spec, {**weights, **params}, ids)
        return before[0], after[0], {n: params[n] - trainable[n] for n in names}

    outs = [one_sequence(ids) for ids in input_ids]
    updates = {n: torch.stack([o[2][n] for o in outs]) for n in names}
    return StepResult(torch.stack([o[0] for o in outs]), torch.stack([o[1] for o in outs]), updates, train_len)


def true_gradient_step(aux_model: nn.Module, input_ids: Tensor, config: TinTConfig | None = None) -> dict[str, Tensor]:
    """Per-sequence exact autograd SGD updates ``-eta_sum * grad`` (no approximation) on the
    parameters TinT updates; shapes ``(B, *W.shape)``. Used for the update-direction check."""
    return simulate_one_step(aux_model, input_ids, (config or TinTConfig()).replace(n_forward_backward=1),
                             Approximations.exact()).updates


def dynamic_eval_step(aux_model: nn.Module, input_ids: Tensor, config: TinTConfig | None = None) -> StepResult:
    """Explicit dynamic evaluation: for each sequence, a real SGD step (``torch.optim.SGD``) of a
    copy of the transformers model on the MEAN training loss with ``eta_mean = eta_sum * T_train``,
    updating exactly the parameters TinT updates (:func:`updated_parameter_names`), then evaluate.

    Unlike the official dynamic-eval script, the optimizer sees only those parameters (entries
    of fused or chunked tensors outside them are masked), and the learning rate is matched.
    """
    config = config or TinTConfig()
    spec = aux_spec(aux_model)
    n_sim = _resolve_layers(spec, config)
    train_len, t_train = split_lengths(input_ids.shape[1], config.train_fraction)
    eta_mean = config.learning_rate * t_train
    befores, afters, deltas = [], [], []
    names = updated_parameter_names(spec, n_sim, norm_gains=not config.ln_update_bias_only)
    for ids in input_ids:
        model = copy.deepcopy(aux_model).eval()
        for p in model.parameters():
            p.requires_grad_(False)
        masks: dict[nn.Parameter, Tensor] = {}
        for name in names:
            param, rows, transposed = hf_parameter(model, spec, name)
            mask = masks.setdefault(param, torch.zeros_like(param, dtype=torch.bool))
            if rows is None:
                mask[...] = True
            elif transposed:
                mask[:, rows] = True
            else:
                mask[rows] = True
            param.requires_grad_(True)
        params = list(masks)
        start = {n: aux_weights(model)[n].detach().clone() for n in names}
        optimizer = torch.optim.SGD(params, lr=eta_mean)
        with torch.no_grad():
            before = model(ids[None]).logits[0]
        for _ in range(config.n_forward_backward):
            optimizer.zero_grad()
            logits = model(ids[None]).logits
            loss = summed_train_loss(logits, ids[None], train_len) / t_train  # mean CE
            loss.backward()
            for p in params:
                p.grad.mul_(masks[p])
            optimizer.step()
        with torch.no_grad():
            after = model(ids[None]).logits[0]
            now = aux_weights(model)
            deltas.append({n: now[n].detach() - start[n] for n in names})
        befores.append(before)
        afters.append(after)
    updates = {n: torch.stack([d[n] for d in deltas]) for n in names}
    return StepResult(torch.stack(befores), torch.stack(afters), updates, train_len)
