"""TinT's simulation modules: real transformer layers acting on TinT hidden states.

A TinT hidden state has shape ``(B, N, H)`` with ``N = K + T`` rows: ``K`` prefix tokens first
(rows of the auxiliary weight being used, see :func:`stack_rows`), then ``T`` input tokens whose
first ``D`` channels ("slot 0") hold the simulated activation or gradient. One-hot positions
``(N, P)`` with ``P = K + T_max`` are a separate input, as in the paper. Modules also read
*memory streams*: TinT hidden states saved by earlier modules (the paper's cached ``x``, ``Qx``,
``Kx``), passed by name.

Every module is built from :class:`TinTAttention` (linear or softmax heads with dense query, key,
value and output projections), position-wise TinT MLPs, a parameter-free TinT normalisation,
and :class:`Gate` (``tanh(gate_scale * w . p)``, 0/1 on prefix or token rows). Their weights are
initialised to the construction; the auxiliary model's weights live only in the prefixes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from methodzoo.tint.reference import normalize


@dataclass(frozen=True)
class TinTDims:
    """Widths of a TinT: auxiliary ``D`` (heads ``n_heads`` of ``head_dim``), ``S`` rows per
    prefix, ``K = D / S`` prefixes, width ``H = D (S + 1)``, position dimension ``P = K + T_max``."""

    D: int
    S: int
    n_heads: int
    head_dim: int
    T_max: int

    @property
    def K(self) -> int:
        return self.D // self.S

    @property
    def H(self) -> int:
        return self.D * (self.S + 1)

    @property
    def P(self) -> int:
        return self.K + self.T_max


def stack_rows(weight: Tensor, bias: Tensor | None, S: int, H: int) -> Tensor:
    """Prefix embeddings of a ``(D, D)`` matrix: prefix ``j`` holds rows ``jS .. jS+S-1`` in
    channels ``[0, S D)`` and their bias entries in channels ``[S D, S D + S)``; ``(K, H)``."""
    D = weight.shape[0]
    K = D // S
    bank = weight.new_zeros(K, H)
    bank[:, :S * D] = weight.reshape(K, S * D)  # (D, D) -> (K, S*D): S consecutive rows per prefix
    if bias is not None:
        bank[:, S * D:S * D + S] = bias.reshape(K, S)
    return bank


def unstack_rows(bank: Tensor, D: int, S: int) -> tuple[Tensor, Tensor]:
    """Inverse of :func:`stack_rows` for ``(..., K, H)`` banks: ``(weight (..., D, D), bias (..., D))``."""
    K = D // S
    lead = bank.shape[:-2]
    weight = bank[..., :S * D].reshape(*lead, K * S, D)  # (..., K, S*D) -> (..., D, D)
    bias = bank[..., S * D:S * D + S].reshape(*lead, D)
    return weight, bias


class Gate(nn.Module):
    """``g(p) = tanh(scale * (w . p + b))`` for one-hot positions ``p``: 1 on the rows a module
    may change, 0 elsewhere (the paper's near-hard gates)."""

    def __init__(self, dims: TinTDims, rows: str, scale: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(dims.P))
        self.bias = nn.Parameter(torch.zeros(1))
        self.scale = scale
        with torch.no_grad():
            if rows == "prefix":
                self.weight[:dims.K] = 1.0
            else:
                self.weight[dims.K:] = 1.0

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return dims.P + 1

    def forward(self, positions: Tensor) -> Tensor:
        return torch.tanh(self.scale * (positions @ self.weight + self.bias))[..., None]  # (N, 1)


class TinTAttention(nn.Module):
    """Multi-head attention of the TinT. Each of query/key/value reads one named stream
    (``"position"`` has width ``P``, every other stream width ``H``). ``softmax=False`` gives the
    linear attention ``sum_j (q_i . k_j) v_j`` used for the simulated linear layers; ``transpose``
    disperses with the transposed probabilities (``sum_i a_ij v_i``, the attention backward)."""

    def __init__(self, dims: TinTDims, n_heads: int, d_qk: int, d_v: int,
                 sources: tuple[str, str, str], *, q_bias: bool = False, v_bias: bool = False,
                 softmax: bool = False, scale: float = 1.0, transpose: bool = False,
                 shared: str = "", self_only: bool = False) -> None:
        super().__init__()
        self.self_only = self_only
        self.block_sparse = False  # linear heads: compute only the (query, key) block the mask allows
        self.sources, self.n_heads, self.d_qk, self.d_v = sources, n_heads, d_qk, d_v
        self.softmax, self.scale, self.transpose, self.shared = softmax, scale, transpose, shared
        width = [dims.P if s == "position" else dims.H for s in sources]
        heads = [1 if name in shared else n_heads for name in "qkv"]
        self.q = nn.Linear(width[0], heads[0] * d_qk, bias=q_bias)
        self.k = nn.Linear(width[1], heads[1] * d_qk, bias=False)
        self.v = nn.Linear(width[2], heads[2] * d_v, bias=v_bias)
        self.o = nn.Linear(n_heads * d_v, dims.H, bias=False)
        for p in self.parameters():
            nn.init.zeros_(p)

    @staticmethod
    def parameter_count(dims: TinTDims, n_heads: int, d_qk: int, d_v: int, sources: tuple[str, str, str],
                        q_bias: bool = False, v_bias: bool = False, shared: str = "") -> int:
        """``shared`` lists projections (``"q"``, ``"k"``, ``"v"``) computed once for all heads."""
        width = [dims.P if s == "position" else dims.H for s in sources]
        hq, hk, hv = (1 if name in shared else n_heads for name in "qkv")
        return (width[0] * hq * d_qk + q_bias * hq * d_qk + width[1] * hk * d_qk
                + width[2] * hv * d_v + v_bias * hv * d_v + n_heads * d_v * dims.H)

    def _heads(self, x: Tensor, d: int, B: int, name: str) -> Tensor:
        N = x.shape[-2]
        heads = 1 if name in self.shared else self.n_heads
        x = x.expand(B, N, x.shape[-1]).reshape(B, N, heads, d).transpose(1, 2)  # (B, heads, N, d)
        return x.expand(B, self.n_heads, N, d)

    def forward(self, streams: dict[str, Tensor], mask: Tensor) -> Tensor:
        """``mask`` (B or 1, N, N) bool: which (query row, key row) pairs interact."""
        B = max(s.shape[0] for s in streams.values())
        if self.block_sparse and not self.softmax and not self.self_only and mask.shape[0] == 1:
            return self._block_forward(streams, mask, B)
        q = self._heads(self.q(streams[self.sources[0]]), self.d_qk, B, "q")
        k = self._heads(self.k(streams[self.sources[1]]), self.d_qk, B, "k")
        v = self._heads(self.v(streams[self.sources[2]]), self.d_v, B, "v")
        if self.self_only:
            # each row attends only to itself: the diagonal of the (linear) score matrix
            out = ((q * k).sum(-1, keepdim=True) * self.scale * v).transpose(1, 2)  # (B, N, nh, d_v)
            return self.o(out.reshape(B, out.shape[1], self.n_heads * self.d_v))
        scores = (q @ k.transpose(-1, -2)) * self.scale  # (B, nh, N, N)
        mask = mask[:, None]
        if self.softmax:
            scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min).softmax(-1)
        scores = scores * mask  # linear attention; zero rows for queries with no allowed key
        if self.transpose:
            scores = scores.transpose(-1, -2)
        out = (scores @ v).transpose(1, 2)  # (B, N, nh, d_v)
        return self.o(out.reshape(B, out.shape[1], self.n_heads * self.d_v))

    def _block_forward(self, streams: dict[str, Tensor], mask: Tensor, B: int) -> Tensor:
        """Linear attention on the rows that have an allowed key and the keys some row may see
        (tokens x prefixes for a simulated linear layer, prefixes x training tokens for a descent):
        the masked-out scores are exact zeros in :meth:`forward`, so the sums are the same."""
        rows = mask[0].any(-1).nonzero()[:, 0]
        cols = mask[0].any(-2).nonzero()[:, 0]
        q = self._heads(self.q(streams[self.sources[0]][..., rows, :]), self.d_qk, B, "q")  # (B, nh, n_rows, d)
        k = self._heads(self.k(streams[self.sources[1]][..., cols, :]), self.d_qk, B, "k")  # (B, nh, n_cols, d)
        v = self._heads(self.v(streams[self.sources[2]][..., cols, :]), self.d_v, B, "v")
        block = mask[:, rows][:, :, cols][:, None]  # (1, 1, n_rows, n_cols)
        scores = (q @ k.transpose(-1, -2)) * self.scale * block
        picked = self.o((scores @ v).transpose(1, 2).reshape(B, len(rows), self.n_heads * self.d_v))
        N = mask.shape[-1]
        out = picked.new_zeros(B, N, picked.shape[-1])
        out[:, rows] = picked  # rows without an allowed key stay o(0) = 0 (o has no bias)
        return out


def _write(hidden: Tensor, gate: Tensor, out: Tensor, clear: Tensor | None) -> Tensor:
    """Gated residual write; ``clear`` (H,) marks channels the module overwrites."""
    if clear is None:
        return hidden + gate * out
    return hidden + gate * (out - clear * hidden)


def _slot_mask(dims: TinTDims) -> Tensor:
    mask = torch.zeros(dims.H)
    mask[:dims.D] = 1.0
    return mask


class LinearForward(nn.Module):
    """Simulated ``y = W x + b`` (paper: Linear forward). Linear attention from input tokens to
    prefixes with ``S`` heads: head ``s`` scores ``q_t . k_j^s = [x_t; 1] . [w_{jS+s}; b_{jS+s}]``
    and returns ``e_j`` (the prefix's one-hot position) as value, so its output is the ``K``
    entries ``(W x_t + b)_{jS+s}``; the output projection interleaves heads back into slot 0."""

    def __init__(self, dims: TinTDims, gate_scale: float) -> None:
        super().__init__()
        D, S, K = dims.D, dims.S, dims.K
        self.attention = TinTAttention(dims, S, D + 1, K, ("hidden", "hidden", "position"), q_bias=True, shared="qv")
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        a = self.attention
        with torch.no_grad():
            a.q.weight[:D, :D] = torch.eye(D)  # [x_t; 1], the same for every head
            a.q.bias[D] = 1.0
            a.v.weight[:, :K] = torch.eye(K)  # e_j, the same for every head
            for s in range(S):
                a.k.weight[s * (D + 1):s * (D + 1) + D, s * D:(s + 1) * D] = torch.eye(D)
                a.k.weight[s * (D + 1) + D, S * D + s] = 1.0
                for j in range(K):
                    a.o.weight[j * S + s, s * K + j] = 1.0

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return (TinTAttention.parameter_count(dims, dims.S, dims.D + 1, dims.K, ("hidden", "hidden", "position"),
                                              q_bias=True, shared="qv")
                + Gate.parameter_count(dims))

    def forward(self, hidden: Tensor, positions: Tensor, masks: dict[str, Tensor]) -> Tensor:
        out = self.attention({"hidden": hidden, "position": positions[None]}, masks["token_to_prefix"])
        return _write(hidden, self.gate(positions), out, self.clear)


class LinearBackwardDescent(nn.Module):
    """Simulated backward ``dx = W^T dy`` and descent ``W <- W - eta sum_{t in train} dy_t x_t^T``,
    ``b <- b - eta sum_t dy_t`` of one linear layer, in one TinT layer with two attentions whose
    gates write disjoint rows (paper: Linear backward / Linear descent).

    * backward (token rows): head ``s`` scores ``dy_t . e_{jS+s} = dy_{t,jS+s}`` with value
      ``w_{jS+s}`` (prefix row); heads summed. Uses the weights before the update.
    * descent (prefix rows): head ``s`` of prefix ``j`` scores ``e_{jS+s} . dy_t`` over training
      tokens with value ``-eta [x_t; 1]`` read from the memory stream (``x`` cached in the forward);
      ``-eta`` is folded into the value matrix, scaled by ``weight_scale`` / ``bias_scale``
      (``weight_scale=0`` gives the LayerNorm bias-only update; ``bias_scale=1/c`` for the
      ``c`` chunks sharing one output bias).
    * ``diagonal=True`` (LayerNorm / RMSNorm gains, stored as ``diag(gamma)``): the descent keeps
      only the diagonal of ``sum_t dy_t x_t^T`` (:class:`DiagonalRestriction`), i.e.
      ``gamma <- gamma - eta sum_t dy_t * x_t`` with ``x`` the normalised input.
    """

    def __init__(self, dims: TinTDims, gate_scale: float, learning_rate: float, *,
                 weight_scale: float = 1.0, bias_scale: float = 1.0, descent: bool = True,
                 diagonal: bool = False) -> None:
        super().__init__()
        D, S, K = dims.D, dims.S, dims.K
        self.backward_attention = TinTAttention(dims, S, D, D, ("hidden", "position", "hidden"), shared="q")
        self.backward_gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        b = self.backward_attention
        with torch.no_grad():
            b.q.weight[:, :D] = torch.eye(D)  # dy_t, the same for every head
            for s in range(S):
                b.v.weight[s * D:(s + 1) * D, s * D:(s + 1) * D] = torch.eye(D)
                b.o.weight[:D, s * D:(s + 1) * D] = torch.eye(D)
                for j in range(K):
                    b.k.weight[s * D + j * S + s, j] = 1.0
        self.descent = descent
        if descent:
            self.descent_attention = TinTAttention(dims, S, D, D + 1, ("position", "hidden", "memory"),
                                                   v_bias=True, shared="k")
            self.descent_gate = Gate(dims, "prefix", gate_scale)
            d = self.descent_attention
            with torch.no_grad():
                d.k.weight[:, :D] = torch.eye(D)  # dy_t, the same for every head
                for s in range(S):
                    for j in range(K):
                        d.q.weight[s * D + j * S + s, j] = 1.0
                    d.v.weight[s * (D + 1):s * (D + 1) + D, :D] = -learning_rate * weight_scale * torch.eye(D)
                    d.v.bias[s * (D + 1) + D] = -learning_rate * bias_scale
                    d.o.weight[s * D:(s + 1) * D, s * (D + 1):s * (D + 1) + D] = torch.eye(D)
                    d.o.weight[S * D + s, s * (D + 1) + D] = 1.0
        self.restrict = DiagonalRestriction(dims) if descent and diagonal else None

    @staticmethod
    def parameter_count(dims: TinTDims, descent: bool = True, diagonal: bool = False) -> int:
        count = (TinTAttention.parameter_count(dims, dims.S, dims.D, dims.D, ("hidden", "position", "hidden"), shared="q")
                 + Gate.parameter_count(dims))
        if descent:
            count += (TinTAttention.parameter_count(dims, dims.S, dims.D, dims.D + 1,
                                                    ("position", "hidden", "memory"), v_bias=True, shared="k")
                      + Gate.parameter_count(dims))
            if diagonal:
                count += DiagonalRestriction.parameter_count(dims)
        return count

    def forward(self, hidden: Tensor, positions: Tensor, masks: dict[str, Tensor],
                memory: Tensor | None = None) -> Tensor:
        """``hidden``: prefixes of ``W`` and ``dy`` in the token rows; ``memory``: ``x`` cached
        by the forward. Returns ``dx`` in the token rows and the updated prefixes."""
        pos = positions[None]
        back = self.backward_attention({"hidden": hidden, "position": pos}, masks["token_to_prefix"])
        out = _write(hidden, self.backward_gate(positions), back, self.clear)
        if self.descent:
            assert memory is not None
            step = self.descent_attention({"hidden": hidden, "position": pos, "memory": memory},
                                          masks["prefix_to_train"])
            if self.restrict is not None:
                step = self.restrict(step, positions)
            out = out + self.descent_gate(positions) * step
        return out


class DiagonalRestriction(nn.Module):
    """Keeps, in the prefix rows of a descent step, only the entries of a diagonal matrix: prefix
    ``j`` keeps entry ``jS + s`` of its row block ``s`` (and its bias entries). The mask depends
    only on the prefix's one-hot position, so this is an elementwise product of the step with a
    position projection: a linear attention in which each row attends only to itself, with one
    one-dimensional head per kept channel (as :class:`ElementwiseProduct`)."""

    def __init__(self, dims: TinTDims) -> None:
        super().__init__()
        D, S, K = dims.D, dims.S, dims.K
        width = S * D + S  # the weight rows and their bias entries
        self.attention = TinTAttention(dims, width, 1, 1, ("step", "position", "step"), v_bias=True, self_only=True)
        a = self.attention
        with torch.no_grad():
            a.q.weight[:, :width] = torch.eye(width)
            a.v.bias.fill_(1.0)
            a.o.weight[:width] = torch.eye(width)
            for s in range(S):
                for j in range(K):
                    a.k.weight[s * D + j * S + s, j] = 1.0  # the diagonal entry of row jS + s
                    a.k.weight[S * D + s, j] = 1.0  # its bias entry

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        width = dims.S * dims.D + dims.S
        return TinTAttention.parameter_count(dims, width, 1, 1, ("step", "position", "step"), v_bias=True)

    def forward(self, step: Tensor, positions: Tensor) -> Tensor:
        return self.attention({"step": step, "position": positions[None]},
                              step.new_ones(1, 1, 1, dtype=torch.bool))


class SoftmaxAttention(nn.Module):
    """The auxiliary's causal self-attention, exact: softmax heads whose queries, keys and values
    are the cached ``Qx``, ``Kx``, ``Vx`` streams (computed by :class:`LinearForward`); tokens
    never attend to prefixes. With ``backward=True`` it recomputes the same probabilities and
    disperses transposed, ``dv_j = sum_i a_ij dy_i`` (stop-gradient through the scores)."""

    def __init__(self, dims: TinTDims, gate_scale: float, *, backward: bool = False, kv_heads: int | None = None) -> None:
        super().__init__()
        D, h, hd = dims.D, dims.n_heads, dims.head_dim
        group = h // (kv_heads or h)  # grouped-query attention: query head a reads key/value head a // group
        sources = ("query", "key", "hidden" if backward else "value")
        self.attention = TinTAttention(dims, h, hd, hd, sources, softmax=True,
                                       scale=1.0 / math.sqrt(hd), transpose=backward)
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        a = self.attention
        eye = torch.eye(hd)
        with torch.no_grad():
            a.q.weight[:, :D] = torch.eye(D)
            for head in range(h):
                kv = (head // group) * hd
                a.k.weight[head * hd:(head + 1) * hd, kv:kv + hd] = eye
                if backward:  # values are dy of the query head; sum the group into its value head
                    a.v.weight[head * hd:(head + 1) * hd, head * hd:(head + 1) * hd] = eye
                    a.o.weight[kv:kv + hd, head * hd:(head + 1) * hd] = eye
                else:
                    a.v.weight[head * hd:(head + 1) * hd, kv:kv + hd] = eye
                    a.o.weight[head * hd:(head + 1) * hd, head * hd:(head + 1) * hd] = eye

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        hd = dims.head_dim
        return (TinTAttention.parameter_count(dims, dims.n_heads, hd, hd, ("query", "key", "value"))
                + Gate.parameter_count(dims))

    def forward(self, hidden: Tensor, positions: Tensor, masks: dict[str, Tensor],
                query: Tensor, key: Tensor, value: Tensor | None = None) -> Tensor:
        streams = {"hidden": hidden, "query": query, "key": key}
        if value is not None:
            streams["value"] = value
        out = self.attention(streams, masks["causal"])
        return _write(hidden, self.gate(positions), out, self.clear)


class SlotNorm(nn.Module):
    """TinT's own normalisation layer applied to slot 0 (centre, for LayerNorm, and divide by the
    root mean square over the ``D`` channels); parameter-free, so the auxiliary's gain and bias
    are applied afterwards by :class:`LinearForward` with prefixes ``diag(gamma)``, ``beta``."""

    def __init__(self, dims: TinTDims, kind: str, eps: float) -> None:
        super().__init__()
        self.D, self.kind, self.eps = dims.D, kind, eps

    def function(self, x: Tensor) -> Tensor:
        return normalize(x, self.kind, self.eps)

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.cat([self.function(hidden[..., :self.D]), hidden[..., self.D:]], -1)


class ActivationForward(nn.Module):
    """Position-wise TinT MLP ``down(act(up(h)))`` computing the auxiliary activation on slot 0."""

    def __init__(self, dims: TinTDims, gate_scale: float, activation: Callable[[Tensor], Tensor]) -> None:
        super().__init__()
        D = dims.D
        self.up = nn.Linear(dims.H, D, bias=False)
        self.down = nn.Linear(D, dims.H, bias=False)
        self.activation = activation
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        with torch.no_grad():
            self.up.weight.zero_()
            self.down.weight.zero_()
            self.up.weight[:, :D] = torch.eye(D)
            self.down.weight[:D] = torch.eye(D)

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return 2 * dims.H * dims.D + Gate.parameter_count(dims)

    def forward(self, hidden: Tensor, positions: Tensor) -> Tensor:
        out = self.down(self.activation(self.up(hidden)))
        return _write(hidden, self.gate(positions), out, self.clear)


class FiniteDifferenceBackward(nn.Module):
    """First-order backward of a position-wise map ``f`` (paper: approximation 2):
    ``dx = (f(x + eps dy) - f(x)) / eps``, with ``dy`` in slot 0 and ``x`` from the memory stream.
    Exact as ``eps -> 0`` when the Jacobian of ``f`` is symmetric (GELU, ReLU; the LN normalisation)."""

    def __init__(self, dims: TinTDims, gate_scale: float, function: Callable[[Tensor], Tensor], eps: float) -> None:
        super().__init__()
        D = dims.D
        self.grad_in = nn.Linear(dims.H, D, bias=False)
        self.memory_in = nn.Linear(dims.H, D, bias=False)
        self.out = nn.Linear(D, dims.H, bias=False)
        self.function = function
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        with torch.no_grad():
            for lin in (self.grad_in, self.memory_in, self.out):
                lin.weight.zero_()
            self.grad_in.weight[:, :D] = eps * torch.eye(D)
            self.memory_in.weight[:, :D] = torch.eye(D)
            self.out.weight[:D] = torch.eye(D) / eps

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return 3 * dims.H * dims.D + Gate.parameter_count(dims)

    def forward(self, hidden: Tensor, positions: Tensor, memory: Tensor) -> Tensor:
        x = self.memory_in(memory)
        out = self.out(self.function(x + self.grad_in(hidden)) - self.function(x))
        return _write(hidden, self.gate(positions), out, self.clear)


class PredictionLossGradient(nn.Module):
    """Top-level gradient of the summed next-token loss through tied embeddings ``E`` (paper:
    ``use_prediction_loss``): ``dh_t = E^T (softmax(E h_t) - onehot(y_t))`` on training rows.
    ``E^T softmax(E h)`` is a softmax attention over the vocabulary rows of ``E``; the target term
    ``E^T onehot(y_t) = e_{t+1}`` is read from the input-embedding memory by a linear attention
    whose query shifts the one-hot position by one."""

    def __init__(self, dims: TinTDims, gate_scale: float) -> None:
        super().__init__()
        D, P = dims.D, dims.P
        self.shift = TinTAttention(dims, 1, P, D, ("position", "position", "embedding"))
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        self.D = D
        with torch.no_grad():
            for i in range(dims.K, P - 1):
                self.shift.q.weight[i + 1, i] = 1.0  # query of position i is the one-hot of i + 1
            self.shift.k.weight.copy_(torch.eye(P))
            self.shift.v.weight[:, :D] = torch.eye(D)
            self.shift.o.weight[:D] = torch.eye(D)

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return (TinTAttention.parameter_count(dims, 1, dims.P, dims.D, ("position", "position", "embedding"))
                + Gate.parameter_count(dims))

    def forward(self, hidden: Tensor, positions: Tensor, masks: dict[str, Tensor], embedding: Tensor,
                vocabulary: Tensor, loss_rows: Tensor) -> Tensor:
        """``vocabulary`` (V, D): the tied ``E``; ``loss_rows`` (B, N, 1): 1 on rows whose target
        is in the training part."""
        h = hidden[..., :self.D]
        expected = (h @ vocabulary.t()).softmax(-1) @ vocabulary  # (B, N, D): E^T softmax(E h)
        target = self.shift({"position": positions[None], "embedding": embedding}, masks["token_to_token"])
        grad = torch.zeros_like(hidden)
        grad[..., :self.D] = expected
        out = (grad - target) * loss_rows
        return _write(hidden, self.gate(positions), out, self.clear)


class ElementwiseProduct(nn.Module):
    """``a * b`` of two token streams (slot 0): a linear attention in which every row attends only
    to itself, with ``D`` heads of dimension 1 (head ``r`` scores ``a_r b_r`` against a constant
    value 1). Needed for Llama's gated MLP and rotary positions, which multiply two
    token-dependent quantities."""

    def __init__(self, dims: TinTDims, gate_scale: float) -> None:
        super().__init__()
        D = dims.D
        self.attention = TinTAttention(dims, D, 1, 1, ("a", "b", "a"), v_bias=True, self_only=True)
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        with torch.no_grad():
            self.attention.q.weight[:, :D] = torch.eye(D)
            self.attention.k.weight[:, :D] = torch.eye(D)
            self.attention.v.bias.fill_(1.0)
            self.attention.o.weight[:D] = torch.eye(D)

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return (TinTAttention.parameter_count(dims, dims.D, 1, 1, ("a", "b", "a"), v_bias=True)
                + Gate.parameter_count(dims))

    def forward(self, a: Tensor, b: Tensor, positions: Tensor) -> Tensor:
        out = self.attention({"a": a, "b": b}, a.new_ones(1, 1, 1, dtype=torch.bool))
        return _write(a, self.gate(positions), out, self.clear)


class RotaryForward(nn.Module):
    """Rotary position embedding of slot 0 (Llama): ``x * cos(theta t) + rotate_half(x) * sin(theta t)``.
    The cos/sin tables are TinT weights read from the one-hot positions; ``rotate_half`` is a fixed
    signed permutation; the two products use :class:`ElementwiseProduct`."""

    def __init__(self, dims: TinTDims, gate_scale: float, n_heads: int, head_dim: int, theta: float) -> None:
        super().__init__()
        _D, K = dims.D, dims.K
        self.cos_table = nn.Linear(dims.P, dims.H, bias=False)
        self.sin_table = nn.Linear(dims.P, dims.H, bias=False)
        self.rotate = nn.Linear(dims.H, dims.H, bias=False)
        self.product_cos = ElementwiseProduct(dims, gate_scale)
        self.product_sin = ElementwiseProduct(dims, gate_scale)
        self.gate = Gate(dims, "token", gate_scale)
        self.register_buffer("clear", _slot_mask(dims), persistent=False)
        half = head_dim // 2
        inv = 1.0 / (theta ** (torch.arange(0, half, dtype=torch.float32) / half))
        angles = torch.arange(dims.T_max, dtype=torch.float32)[:, None] * inv[None]  # (T_max, hd / 2)
        angles = torch.cat([angles, angles], -1).double()  # (T_max, hd)
        with torch.no_grad():
            for lin in (self.cos_table, self.sin_table, self.rotate):
                lin.weight.zero_()
            for head in range(n_heads):
                cols = slice(head * head_dim, (head + 1) * head_dim)
                self.cos_table.weight[cols, K:] = angles.cos().t().float()
                self.sin_table.weight[cols, K:] = angles.sin().t().float()
                base = head * head_dim
                for i in range(half):  # rotate_half: (x1, x2) -> (-x2, x1)
                    self.rotate.weight[base + i, base + half + i] = -1.0
                    self.rotate.weight[base + half + i, base + i] = 1.0

    @staticmethod
    def parameter_count(dims: TinTDims) -> int:
        return (2 * dims.P * dims.H + dims.H * dims.H + 2 * ElementwiseProduct.parameter_count(dims)
                + Gate.parameter_count(dims))

    def forward(self, hidden: Tensor, positions: Tensor) -> Tensor:
        pos = positions[None]
        with_cos = self.product_cos(hidden, self.cos_table(pos), positions)  # slot 0: x * cos
        with_sin = self.product_sin(self.rotate(hidden), self.sin_table(pos), positions)  # slot 0: R x * sin
        return with_cos + self.gate(positions) * self.clear * with_sin  # residual add into slot 0 of tokens
