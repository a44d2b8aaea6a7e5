"""The TinT model: one forward pass that simulates, fine-tunes and re-evaluates its auxiliary.

Schedule of :meth:`TinT.forward` (paper, Section 2):

1. forward through all ``L`` simulated layers, caching activations (memory streams);
2. final norm, then the prediction-loss gradient on the training part;
3. backward and descent through the top ``n`` layers (updating prefix embeddings);
4. forward again from the cached layer-``(L - n)`` state with the updated prefixes;
5. logits, evaluated by the caller on the rest of the sequence.

Steps 1-3 repeat ``n_forward_backward`` times.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from methodzoo.shared.errors import ConfigError, UserError
from methodzoo.tint.auxiliary import AuxSpec, aux_spec, aux_weights
from methodzoo.tint.config import TinTConfig, split_lengths
from methodzoo.tint.modules import (
    ActivationForward,
    ElementwiseProduct,
    FiniteDifferenceBackward,
    LinearBackwardDescent,
    LinearForward,
    PredictionLossGradient,
    RotaryForward,
    SlotNorm,
    SoftmaxAttention,
    TinTDims,
    stack_rows,
    unstack_rows,
)
from methodzoo.tint.reference import activation_fn
from methodzoo.tint.sparse import sparsify_projections


@dataclass
class TinTOutput:
    """``logits_before`` / ``logits_after``: ``(B, T, V)``; ``prefixes``: the updated prefix
    banks ``(B, K, H)`` by name."""

    logits_before: Tensor
    logits_after: Tensor
    prefixes: dict[str, Tensor]
    train_len: int


def tint_dims(spec: AuxSpec, config: TinTConfig) -> TinTDims:
    """Check the shape constraints and return the TinT widths."""
    S = config.rows_per_prefix
    if spec.hidden % S:
        raise ConfigError(f"rows_per_prefix S={S} must divide the auxiliary width D={spec.hidden} (K = D / S)")
    if spec.attention_bias != spec.mlp_bias:
        raise UserError("auxiliary models with biases in attention but not in the MLP (or the reverse) "
                        "are not supported by the TinT construction")
    T_max = config.max_positions or spec.max_positions
    if T_max > spec.max_positions:
        raise ConfigError(f"max_positions={T_max} exceeds the auxiliary's context {spec.max_positions}")
    return TinTDims(spec.hidden, S, spec.n_heads, spec.head_dim, T_max)


def _mlp_names(spec: AuxSpec) -> tuple[str, ...]:
    return ("gate", "up", "down") if spec.mlp == "gated" else ("fc1", "fc2")


def _n_sim(spec: AuxSpec, config: TinTConfig) -> int:
    n = config.n_simulation_layers or spec.n_layers
    if n > spec.n_layers:
        raise ConfigError(f"n_simulation_layers={n} exceeds the auxiliary's {spec.n_layers} layers")
    return n


def _bank_names(spec: AuxSpec, layer: int) -> list[str]:
    p = f"l{layer}_"
    names = [p + n for n in ("norm1", "q", "k", "v", "o", "norm2")]
    for kind in _mlp_names(spec):
        names += [p + f"{kind}_{c}" for c in range(spec.mlp_chunks)]
    return names


def tint_parameter_count(spec: AuxSpec, config: TinTConfig) -> int:
    """Number of TinT parameters for an auxiliary of shape ``spec``, without allocating anything.

    ``L`` forward blocks (one with ``reuse_forward_blocks``; each has one shared :class:`LinearForward` per layer, softmax attention,
    activation), ``n`` backward blocks (one with ``reuse_backward_blocks``; three descent variants, attention backward, two
    finite-difference modules), the final norm's forward/backward, the loss gradient, the
    embeddings (``V x D`` tied, learned positions) and ``(6 + 2c) L + 1`` prefix banks of ``K x H``
    (``6 + 3c`` per layer and product/rotary modules for Llama's gated MLP and rotary positions).

    With ``config.sparse_projections`` the simulation blocks are counted after sparsification, by
    building one forward block, one backward block and the top modules (never the whole TinT).
    """
    dims = tint_dims(spec, config)
    n = _n_sim(spec, config)
    if config.sparse_projections:
        forward, backward, top = _sparse_block_counts(dims, spec, config)
    else:
        forward, backward, top = _dense_block_counts(dims, spec, config)
    embeddings = spec.vocab * spec.hidden
    if spec.positions == "learned":
        embeddings += (spec.max_positions + spec.position_offset) * spec.hidden
    banks = (sum(len(_bank_names(spec, layer)) for layer in range(spec.n_layers)) + spec.final_norm) * dims.K * dims.H
    n_forward = 1 if config.reuse_forward_blocks else spec.n_layers
    n_backward = 1 if config.reuse_backward_blocks else n
    return n_forward * forward + n_backward * backward + top + embeddings + banks


def _dense_block_counts(dims: TinTDims, spec: AuxSpec, config: TinTConfig) -> tuple[int, int, int]:
    """Parameters of one forward block, one backward block and the top modules, from the formulas."""
    forward = (LinearForward.parameter_count(dims) + SoftmaxAttention.parameter_count(dims)
               + ActivationForward.parameter_count(dims))
    backward = (2 * LinearBackwardDescent.parameter_count(dims)
                + LinearBackwardDescent.parameter_count(dims, diagonal=not config.ln_update_bias_only)
                + SoftmaxAttention.parameter_count(dims)
                + 2 * FiniteDifferenceBackward.parameter_count(dims))
    if spec.mlp == "gated":
        forward += ElementwiseProduct.parameter_count(dims)
        backward += ElementwiseProduct.parameter_count(dims)
    if spec.positions == "rotary":
        forward += RotaryForward.parameter_count(dims)
    top = PredictionLossGradient.parameter_count(dims)
    if spec.final_norm:
        top += (LinearForward.parameter_count(dims) + LinearBackwardDescent.parameter_count(dims, descent=False)
                + FiniteDifferenceBackward.parameter_count(dims))
    return forward, backward, top


def _sparse_block_counts(dims: TinTDims, spec: AuxSpec, config: TinTConfig) -> tuple[int, int, int]:
    """The same counts after :func:`sparsify_projections`, from one block of each kind built on
    the CPU (at OPT-125M widths about 0.5 GB at a time; the TinT itself is never built)."""
    from methodzoo.shared.modules import count_parameters

    def sparse_count(module: nn.Module) -> int:
        sparsify_projections(module)
        return count_parameters(module)

    g, eps = config.gate_scale, config.finite_difference_epsilon
    with torch.no_grad():
        norm = SlotNorm(dims, spec.norm, spec.norm_eps)
        forward = sparse_count(_ForwardBlock(dims, spec, config))
        backward = sparse_count(_BackwardBlock(dims, spec, config, norm))
        top = sparse_count(PredictionLossGradient(dims, g))
        if spec.final_norm:
            top += sum(sparse_count(m) for m in (LinearForward(dims, g), LinearBackwardDescent(dims, g, 0.0, descent=False),
                                                 FiniteDifferenceBackward(dims, g, norm.function, eps)))
    return forward, backward, top


class _ForwardBlock(nn.Module):
    def __init__(self, dims: TinTDims, spec: AuxSpec, config: TinTConfig) -> None:
        super().__init__()
        g = config.gate_scale
        self.linear = LinearForward(dims, g)
        self.attention = SoftmaxAttention(dims, g, kv_heads=spec.n_kv_heads)
        self.activation = ActivationForward(dims, g, activation_fn(spec.activation))
        if spec.mlp == "gated":
            self.product = ElementwiseProduct(dims, g)
        if spec.positions == "rotary":
            self.rotary = RotaryForward(dims, g, spec.n_heads, spec.head_dim, spec.rope_theta)


class _BackwardBlock(nn.Module):
    def __init__(self, dims: TinTDims, spec: AuxSpec, config: TinTConfig, norm: SlotNorm) -> None:
        super().__init__()
        eta, g = config.learning_rate, config.gate_scale
        bias = 1.0 if spec.attention_bias else 0.0  # no bias update for bias-free layers (Llama)
        self.descent = LinearBackwardDescent(dims, g, eta, bias_scale=bias)
        self.descent_mlp_out = LinearBackwardDescent(dims, g, eta, bias_scale=bias / spec.mlp_chunks)
        gain = not config.ln_update_bias_only  # the paper's default updates LayerNorm biases only
        self.descent_norm = LinearBackwardDescent(dims, g, eta, weight_scale=1.0 if gain else 0.0,
                                                  bias_scale=1.0 if spec.norm == "layernorm" else 0.0,
                                                  diagonal=gain)
        self.attention = SoftmaxAttention(dims, g, backward=True, kv_heads=spec.n_kv_heads)
        self.norm_backward = FiniteDifferenceBackward(dims, g, norm.function, config.finite_difference_epsilon)
        self.activation_backward = FiniteDifferenceBackward(dims, g, activation_fn(spec.activation),
                                                            config.finite_difference_epsilon)
        if spec.mlp == "gated":
            self.product = ElementwiseProduct(dims, g)


class TinT(nn.Module):
    """Trainable Transformer in Transformer (Panigrahi et al., ICML 2024) for a pre-LN GPT-2, pre-
    or post-LN OPT, or Llama auxiliary model. ``forward(input_ids)`` returns the logits ``(B, T, V)`` of the auxiliary
    after TinT's internal SGD step(s) on the first ``train_fraction`` of each sequence.

    Steps are overridable methods named after the paper: :meth:`embed`, :meth:`forward_block`,
    :meth:`loss_gradient`, :meth:`backward_block`, :meth:`head`.
    """

    def __init__(self, spec: AuxSpec, config: TinTConfig, weights: dict[str, Tensor]) -> None:
        super().__init__()
        self.spec, self.config = spec, config
        self.dims = dims = tint_dims(spec, config)
        self.n_sim = _n_sim(spec, config)
        D, S, H = dims.D, dims.S, dims.H
        self.embed_tokens = nn.Parameter(weights["embed"].detach().clone())
        if spec.positions == "learned":
            self.embed_positions = nn.Parameter(weights["pos_embed"].detach().clone())
        chunks = spec.mlp_chunks
        padded = chunks * D

        def matrix(name: str, rows: int | None = None, cols: int | None = None) -> Tensor:
            """Weight zero-padded to (rows or D, cols or D): GQA keys/values have fewer rows and the
            MLP is padded to c D x D chunks; padded rows/columns stay zero under the updates."""
            w = weights[name]
            out = w.new_zeros(rows or D, cols or D)
            out[:w.shape[0], :w.shape[1]] = w
            return out

        def vector(name: str, size: int | None = None) -> Tensor:
            out = weights["embed"].new_zeros(size or D)
            if name in weights:
                out[:weights[name].shape[0]] = weights[name]
            return out

        banks: dict[str, Tensor] = {}
        for layer in range(spec.n_layers):
            p, w = f"l{layer}_", f"layers.{layer}."
            for norm in ("norm1", "norm2"):
                banks[p + norm] = stack_rows(torch.diag(weights[w + norm + ".weight"]), vector(w + norm + ".bias"), S, H)
            for name in "qkvo":
                banks[p + name] = stack_rows(matrix(w + name + ".weight"), vector(w + name + ".bias"), S, H)
            first, last = ("gate", "up"), "down"
            if spec.mlp == "plain":
                first, last = ("fc1",), "fc2"
            ins = {kind: (matrix(w + kind + ".weight", rows=padded), vector(w + kind + ".bias", padded)) for kind in first}
            out_w, out_b = matrix(w + last + ".weight", cols=padded), vector(w + last + ".bias")
            for c in range(chunks):
                rows = slice(c * D, (c + 1) * D)
                for kind, (mat, vec) in ins.items():
                    banks[p + f"{kind}_{c}"] = stack_rows(mat[rows], vec[rows], S, H)
                # every chunk carries b2 / c so that the chunk outputs sum to W2 g + b2
                banks[p + f"{last}_{c}"] = stack_rows(out_w[:, rows], out_b / chunks, S, H)
        if spec.final_norm:
            banks["final_norm"] = stack_rows(torch.diag(weights["final_norm.weight"]), vector("final_norm.bias"), S, H)
        self.prefixes = nn.ParameterDict({k: nn.Parameter(v.detach().clone()) for k, v in banks.items()})
        g = config.gate_scale
        self.norm = SlotNorm(dims, spec.norm, spec.norm_eps)
        n_forward = 1 if config.reuse_forward_blocks else spec.n_layers
        n_backward = 1 if config.reuse_backward_blocks else self.n_sim
        self.forward_blocks = nn.ModuleList(_ForwardBlock(dims, spec, config) for _ in range(n_forward))
        self.backward_blocks = nn.ModuleList(_BackwardBlock(dims, spec, config, self.norm) for _ in range(n_backward))
        if spec.final_norm:
            self.final_linear = LinearForward(dims, g)
            self.final_backward = LinearBackwardDescent(dims, g, 0.0, descent=False)
            self.final_norm_backward = FiniteDifferenceBackward(dims, g, self.norm.function,
                                                                config.finite_difference_epsilon)
        self.loss_gradient_module = PredictionLossGradient(dims, g)
        if config.sparse_projections:
            sparsify_projections(self)

    # ----- helpers ------------------------------------------------------------------------------
    def _positions(self, T: int, device: torch.device, dtype: torch.dtype) -> Tensor:
        K = self.dims.K
        return torch.eye(self.dims.P, device=device, dtype=dtype)[:K + T]  # (N, P) one-hot

    def _masks(self, T: int, train_len: int, device: torch.device) -> dict[str, Tensor]:
        K, N = self.dims.K, self.dims.K + T
        idx = torch.arange(N, device=device)
        is_token = idx >= K
        token_to_prefix = is_token[:, None] & ~is_token[None, :]
        token_to_token = is_token[:, None] & is_token[None, :]
        causal = token_to_token & (idx[None, :] <= idx[:, None])
        train = is_token & (idx < K + train_len)
        prefix_to_train = ~is_token[:, None] & train[None, :]
        return {"token_to_prefix": token_to_prefix[None], "token_to_token": token_to_token[None],
                "causal": causal[None], "prefix_to_train": prefix_to_train[None]}

    def _load(self, hidden: Tensor, bank: Tensor) -> Tensor:
        """Put a module's prefix embeddings ``(B, K, H)`` in front of the token rows."""
        return torch.cat([bank, hidden[:, self.dims.K:]], 1)

    # ----- the paper's steps --------------------------------------------------------------------
    def embed(self, input_ids: Tensor) -> tuple[Tensor, Tensor]:
        """TinT input ``(B, K + T, H)``: zero prefix rows, then ``E x_t + p_t`` in slot 0; and the
        raw token embeddings (memory for the loss gradient's target term)."""
        B, T = input_ids.shape
        D, H, K = self.dims.D, self.dims.H, self.dims.K
        tokens = self.embed_tokens[input_ids]  # (B, T, D)
        hidden = tokens.new_zeros(B, K + T, H)
        hidden[:, K:, :D] = tokens
        if self.spec.positions == "learned":
            hidden[:, K:, :D] += self.embed_positions[self.spec.position_offset + torch.arange(T, device=input_ids.device)]
        raw = tokens.new_zeros(B, K + T, H)
        raw[:, K:, :D] = tokens
        return hidden, raw

    def forward_block(self, layer: int, x: Tensor, banks: dict[str, Tensor], positions: Tensor,
                      masks: dict[str, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """One auxiliary block (pre-LN, or post-LN with ``spec.post_norm``); returns the output and
        the memory streams for backward."""
        m = cast(_ForwardBlock, self.forward_blocks[0 if self.config.reuse_forward_blocks else layer])
        p = f"l{layer}_"

        def linear(h: Tensor, name: str) -> Tensor:
            return m.linear(self._load(h, banks[p + name]), positions, masks)

        post = self.spec.post_norm
        cache = {"x": x}
        if post:
            a = x
        else:
            cache["n1"] = n1 = self.norm(x)
            a = linear(n1, "norm1")
        q, k, v = linear(a, "q"), linear(a, "k"), linear(a, "v")
        if self.spec.positions == "rotary":
            q, k = m.rotary(q, positions), m.rotary(k, positions)
        o = m.attention(a, positions, masks, query=q, key=k, value=v)
        x1 = x + linear(o, "o")
        if post:  # x1 is the residual sum r1 here; the block continues from LN1(r1)
            cache.update({"r1": x1, "n1": self.norm(x1)})
            x1 = linear(cache["n1"], "norm1")
            b = x1
        else:
            cache["n2"] = n2 = self.norm(x1)
            b = linear(n2, "norm2")
        mlp = torch.zeros_like(x1)
        cache.update({"a": a, "q": q, "k": k, "o": o, "x1": x1, "b": b})
        for c in range(self.spec.mlp_chunks):
            if self.spec.mlp == "gated":
                pre, up = linear(b, f"gate_{c}"), linear(b, f"up_{c}")
                act = m.activation(pre, positions)
                g = m.product(act, up, positions)
                mlp = mlp + linear(g, f"down_{c}")
                cache.update({f"pre{c}": pre, f"up{c}": up, f"act{c}": act, f"g{c}": g})
            else:
                u = linear(b, f"fc1_{c}")
                g = m.activation(u, positions)
                mlp = mlp + linear(g, f"fc2_{c}")
                cache.update({f"pre{c}": u, f"g{c}": g})
        if post:
            cache.update({"r2": x1 + mlp, "n2": self.norm(x1 + mlp)})
            return linear(cache["n2"], "norm2"), cache
        return x1 + mlp, cache

    def head(self, x: Tensor, banks: dict[str, Tensor], positions: Tensor,
             masks: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor]:
        """Final norm and tied unembedding: ``(logits (B, T, V), h_final, normalised x)``."""
        if not self.spec.final_norm:
            return x[:, self.dims.K:, :self.dims.D] @ self.embed_tokens.t(), x, x
        n = self.norm(x)
        h = self.final_linear(self._load(n, banks["final_norm"]), positions, masks)
        logits = h[:, self.dims.K:, :self.dims.D] @ self.embed_tokens.t()
        return logits, h, n

    def loss_gradient(self, x: Tensor, h: Tensor, raw: Tensor, banks: dict[str, Tensor], positions: Tensor,
                      masks: dict[str, Tensor], train_len: int) -> Tensor:
        """Gradient of the summed training loss at the last block's output (slot 0)."""
        K, N = self.dims.K, h.shape[1]
        rows = torch.zeros(1, N, 1, device=h.device, dtype=h.dtype)
        rows[:, K:K + train_len - 1] = 1.0  # positions whose next token is in the training part
        dh = self.loss_gradient_module(h, positions, masks, raw, self.embed_tokens, rows)
        if not self.spec.final_norm:
            return dh
        dn = self.final_backward(self._load(dh, banks["final_norm"]), positions, masks)
        return self.final_norm_backward(dn, positions, memory=x)

    def backward_block(self, index: int, layer: int, grad: Tensor, banks: dict[str, Tensor],
                       new_banks: dict[str, Tensor], cache: dict[str, Tensor], positions: Tensor,
                       masks: dict[str, Tensor]) -> Tensor:
        """Backward and descent through one block; writes updated prefixes into ``new_banks``."""
        m = cast(_BackwardBlock, self.backward_blocks[0 if self.config.reuse_backward_blocks else index])
        p, K = f"l{layer}_", self.dims.K

        def step(module: LinearBackwardDescent, g: Tensor, name: str, memory: Tensor) -> Tensor:
            out = module(self._load(g, banks[p + name]), positions, masks, memory)
            new_banks[p + name] = out[:, :K]
            return out

        post = self.spec.post_norm
        if post:  # out = LN2(r2): through the gain and the normalisation first
            dn2 = step(m.descent_norm, grad, "norm2", cache["n2"])
            grad = m.norm_backward(dn2, positions, memory=cache["r2"])
        db = torch.zeros_like(grad)
        for c in reversed(range(self.spec.mlp_chunks)):
            if self.spec.mlp == "gated":
                dg = step(m.descent_mlp_out, grad, f"down_{c}", cache[f"g{c}"])
                d_up = m.product(dg, cache[f"act{c}"], positions)  # d up = act(pre) * dg
                db = db + step(m.descent, d_up, f"up_{c}", cache["b"])
                d_act = m.product(dg, cache[f"up{c}"], positions)  # d act = up * dg
                d_pre = m.activation_backward(d_act, positions, memory=cache[f"pre{c}"])
                db = db + step(m.descent, d_pre, f"gate_{c}", cache["b"])
            else:
                dg = step(m.descent_mlp_out, grad, f"fc2_{c}", cache[f"g{c}"])
                du = m.activation_backward(dg, positions, memory=cache[f"pre{c}"])
                db = db + step(m.descent, du, f"fc1_{c}", cache["b"])
        if post:  # x1 = LN1(r1) feeds both the residual and the MLP
            dn1 = step(m.descent_norm, grad + db, "norm1", cache["n1"])
            dx1 = m.norm_backward(dn1, positions, memory=cache["r1"])
        else:
            dn2 = step(m.descent_norm, db, "norm2", cache["n2"])
            dx1 = grad + m.norm_backward(dn2, positions, memory=cache["x1"])
        do = step(m.descent, dx1, "o", cache["o"])
        dv = m.attention(do, positions, masks, query=cache["q"], key=cache["k"])
        da = step(m.descent, dv, "v", cache["a"])
        if not self.config.backprop_through_attention:
            return dx1
        if post:
            return dx1 + da
        dn1 = step(m.descent_norm, da, "norm1", cache["n1"])
        return dx1 + m.norm_backward(dn1, positions, memory=cache["x"])

    # ----- the whole pass -------------------------------------------------------------------------
    def simulate(self, input_ids: Tensor) -> TinTOutput:
        """Run the full schedule and return logits before and after the internal update."""
        B, T = input_ids.shape
        if self.dims.T_max < T:
            raise UserError(f"input length {T} exceeds the TinT's max_positions {self.dims.T_max}")
        train_len, _ = split_lengths(T, self.config.train_fraction)
        hidden, raw = self.embed(input_ids)
        positions = self._positions(T, hidden.device, hidden.dtype)
        masks = self._masks(T, train_len, hidden.device)
        banks = {k: v.expand(B, *v.shape) for k, v in self.prefixes.items()}
        L, n = self.spec.n_layers, self.n_sim
        x = hidden
        for layer in range(L - n):
            x, _ = self.forward_block(layer, x, banks, positions, masks)
        bottom = x  # cached layer-(L - n) state
        logits_before = None
        for _ in range(self.config.n_forward_backward):
            x, caches = bottom, []
            for layer in range(L - n, L):
                x, cache = self.forward_block(layer, x, banks, positions, masks)
                caches.append(cache)
            logits, h, _ = self.head(x, banks, positions, masks)
            if logits_before is None:
                logits_before = logits
            grad = self.loss_gradient(x, h, raw, banks, positions, masks, train_len)
            new_banks = dict(banks)
            for index in reversed(range(n)):
                grad = self.backward_block(index, L - n + index, grad, banks, new_banks, caches[index],
                                           positions, masks)
            banks = new_banks
        x = bottom
        for layer in range(L - n, L):
            x, _ = self.forward_block(layer, x, banks, positions, masks)
        logits_after, _, _ = self.head(x, banks, positions, masks)
        assert logits_before is not None
        return TinTOutput(logits_before, logits_after, banks, train_len)

    def forward(self, input_ids: Tensor) -> Tensor:
        """Evaluation logits ``(B, T, V)`` after the simulated fine-tuning on the training part."""
        return self.simulate(input_ids).logits_after

    @torch.no_grad()
    def simulated_updates(self, output: TinTOutput) -> dict[str, Tensor]:
        """The update TinT applied, ``Delta W`` per auxiliary parameter (neutral names, shape
        ``(B, *W.shape)``), read back from the prefix embeddings."""
        D, S, chunks = self.dims.D, self.dims.S, self.spec.mlp_chunks
        out: dict[str, Tensor] = {}

        def delta(name: str) -> tuple[Tensor, Tensor]:
            w_new, b_new = unstack_rows(output.prefixes[name], D, S)
            w_old, b_old = unstack_rows(self.prefixes[name], D, S)
            return w_new - w_old, b_new - b_old

        spec = self.spec
        F_ = spec.intermediate
        kv = spec.n_kv_heads * spec.head_dim
        for layer in range(spec.n_layers - self.n_sim, spec.n_layers):
            p, w = f"l{layer}_", f"layers.{layer}."
            for name, rows in (("v", kv), ("o", D)):
                dw, db = delta(p + name)
                out[w + name + ".weight"] = dw[..., :rows, :]
                if spec.attention_bias:
                    out[w + name + ".bias"] = db[..., :rows]
            *ins, last = _mlp_names(spec)
            for kind in ins:
                parts = [delta(p + f"{kind}_{c}") for c in range(chunks)]
                out[w + kind + ".weight"] = torch.cat([d[0] for d in parts], -2)[..., :F_, :]
                if spec.mlp_bias:
                    out[w + kind + ".bias"] = torch.cat([d[1] for d in parts], -1)[..., :F_]
            parts = [delta(p + f"{last}_{c}") for c in range(chunks)]
            out[w + last + ".weight"] = torch.cat([d[0] for d in parts], -1)[..., :F_]
            if spec.mlp_bias:
                out[w + last + ".bias"] = torch.stack([d[1] for d in parts]).sum(0)
            for name in ("norm1", "norm2"):
                dw, db = delta(p + name)
                if spec.norm == "layernorm":
                    out[w + name + ".bias"] = db
                if not self.config.ln_update_bias_only:
                    out[w + name + ".weight"] = torch.diagonal(dw, dim1=-2, dim2=-1)
        return out


def build_tint(aux_model: nn.Module, config: TinTConfig | None = None) -> TinT:
    """Build the TinT that simulates ``aux_model`` (a transformers GPT-2, pre-LN OPT or Llama causal
    LM with tied embeddings), on the auxiliary's device and dtype."""
    config = config or TinTConfig()
    spec = aux_spec(aux_model)
    weights = aux_weights(aux_model)
    tint_dims(spec, config)  # fail early with the precise reason
    device = weights["embed"].device
    dtype = weights["embed"].dtype
    if dtype not in (torch.float32, torch.float64):
        raise UserError(f"the auxiliary model is {dtype}; TinT's finite-difference backward "
                        "(eps = 1e-3) needs float32 or float64: convert it with .float()")
    # Build in the auxiliary's dtype: constructing in float32 and casting afterwards would round a
    # float64 auxiliary's weights (and the construction's eps, 1/eps, -eta) to float32.
    with torch.no_grad(), _default_dtype(dtype):
        model = TinT(spec, config, {k: v.detach().to("cpu") for k, v in weights.items()})
    return model.to(device=device).eval()


@contextmanager
def _default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Modules create their weights with the default dtype; set it for the construction only."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)
