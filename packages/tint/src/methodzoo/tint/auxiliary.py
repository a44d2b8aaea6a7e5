"""The auxiliary model in a family-neutral form: its shape (:class:`AuxSpec`) and named weights.

TinT simulates a decoder with tied embeddings. GPT-2 and OPT (pre-LN, and post-LN OPT such as
opt-350m's layout, ``post_norm=True`` without a final norm) map onto one layout;
Llama (RMSNorm, gated MLP, rotary, grouped-query attention) maps onto the same names with
``mlp="gated"``. Names (``layers.{l}.q.weight`` ...) always hold ``(D_out, D_in)`` matrices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from torch import Tensor, nn

from methodzoo.shared.errors import UserError

Family = Literal["gpt2", "opt", "llama"]


@dataclass(frozen=True)
class AuxSpec:
    """Shape and layer conventions of an auxiliary causal LM."""

    family: Family
    hidden: int  # D
    n_layers: int  # L
    n_heads: int
    n_kv_heads: int
    head_dim: int
    intermediate: int  # D_ff
    vocab: int  # V
    max_positions: int
    norm: Literal["layernorm", "rmsnorm"]
    norm_eps: float
    activation: str  # a transformers ACT2FN name
    mlp: Literal["plain", "gated"]
    positions: Literal["learned", "rotary"]
    position_offset: int = 0  # OPT shifts learned positions by 2
    rope_theta: float = 10000.0
    attention_bias: bool = True
    mlp_bias: bool = True
    post_norm: bool = False  # post-LN blocks: x1 = LN1(x + attn(x)), out = LN2(x1 + mlp(x1))
    final_norm: bool = True  # a norm after the last block (post-LN OPT has none)

    @property
    def mlp_chunks(self) -> int:
        """c = ceil(D_ff / D): the MLP is simulated as c chunks of D x D matrices (zero-padded)."""
        return -(-self.intermediate // self.hidden)

    def parameter_count(self) -> int:
        """Number of parameters of the auxiliary model (tied embeddings counted once)."""
        D, F = self.hidden, self.intermediate
        kv = self.n_kv_heads * self.head_dim
        ab, mb = int(self.attention_bias), int(self.mlp_bias)
        norm = D * (2 if self.norm == "layernorm" else 1)
        attn = D * D + 2 * D * kv + D * D + ab * (2 * D + 2 * kv)
        mlp = (3 * D * F) if self.mlp == "gated" else (2 * D * F + mb * (F + D))
        layer = 2 * norm + attn + mlp
        pos = (self.max_positions + self.position_offset) * D if self.positions == "learned" else 0
        return self.vocab * D + pos + self.n_layers * layer + norm * self.final_norm


def aux_spec(model: Any) -> AuxSpec:
    """Read the :class:`AuxSpec` of a transformers GPT-2, OPT or Llama causal LM."""
    config = getattr(model, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type == "gpt2":
        D = config.n_embd
        if config.scale_attn_by_inverse_layer_idx or not config.scale_attn_weights:
            raise UserError("GPT-2 variants with scale_attn_by_inverse_layer_idx or without "
                            "scale_attn_weights are not supported")
        return AuxSpec("gpt2", D, config.n_layer, config.n_head, config.n_head, D // config.n_head,
                       config.n_inner or 4 * D, config.vocab_size, config.n_positions, "layernorm",
                       config.layer_norm_epsilon, config.activation_function, "plain", "learned")
    if model_type == "opt":
        D = config.hidden_size
        if config.word_embed_proj_dim != D:
            raise UserError("OPT with word_embed_proj_dim != hidden_size (project_in/out) is not supported")
        if not getattr(config, "layer_norm_elementwise_affine", True):
            raise UserError("OPT without LayerNorm affine parameters is not supported")
        bias = getattr(config, "enable_bias", True)
        pre = bool(config.do_layer_norm_before)
        return AuxSpec("opt", D, config.num_hidden_layers, config.num_attention_heads,
                       config.num_attention_heads, D // config.num_attention_heads, config.ffn_dim,
                       config.vocab_size, config.max_position_embeddings, "layernorm", 1e-5,
                       config.activation_function, "plain", "learned", position_offset=2,
                       attention_bias=bias, mlp_bias=bias, post_norm=not pre,
                       final_norm=pre and not getattr(config, "_remove_final_layer_norm", False))
    if model_type == "llama":
        D = config.hidden_size
        head_dim = getattr(config, "head_dim", None) or D // config.num_attention_heads
        if head_dim * config.num_attention_heads != D:
            raise UserError("Llama with num_heads * head_dim != hidden_size is not supported")
        scaling = getattr(config, "rope_scaling", None)
        rope = getattr(config, "rope_parameters", None) or {}
        rope_type = (scaling or {}).get("rope_type", rope.get("rope_type", "default"))
        if rope_type not in ("default", None):
            raise UserError(f"Llama rotary scaling {rope_type!r} is not supported (only default RoPE)")
        theta = rope.get("rope_theta", getattr(config, "rope_theta", 10000.0))
        if getattr(config, "mlp_bias", False):
            raise UserError("Llama with mlp_bias=True is not supported")
        return AuxSpec("llama", D, config.num_hidden_layers, config.num_attention_heads,
                       config.num_key_value_heads, head_dim, config.intermediate_size,
                       config.vocab_size, config.max_position_embeddings, "rmsnorm",
                       config.rms_norm_eps, config.hidden_act, "gated", "rotary",
                       rope_theta=float(theta), attention_bias=bool(config.attention_bias),
                       mlp_bias=False)
    raise UserError(f"unsupported auxiliary model type {model_type!r}; supported: gpt2, opt, llama")


def _check_tied(model: Any) -> None:
    head = model.get_output_embeddings()
    embed = model.get_input_embeddings()
    if head is None or head.weight.data_ptr() != embed.weight.data_ptr():
        raise UserError("the auxiliary model must tie its output embeddings to its input embeddings: "
                        "TinT's top gradient E^T (softmax(E h) - onehot) uses the tied matrix E")
    if getattr(head, "bias", None) is not None:
        raise UserError("an output-embedding bias is not supported")


def aux_weights(model: Any) -> dict[str, Tensor]:
    """The auxiliary weights under neutral names; matrices are ``(D_out, D_in)``.

    Tensors share storage with the model where the layouts agree (GPT-2's Conv1D and fused
    ``c_attn`` are transposed/split views), so this is cheap; nothing is copied to a new device.
    """
    spec = aux_spec(model)
    _check_tied(model)
    w: dict[str, Tensor] = {}
    if spec.family == "gpt2":
        body = model.transformer
        w["embed"] = body.wte.weight
        w["pos_embed"] = body.wpe.weight
        D = spec.hidden
        for i, block in enumerate(body.h):
            p = f"layers.{i}."
            w[p + "norm1.weight"], w[p + "norm1.bias"] = block.ln_1.weight, block.ln_1.bias
            fused_w, fused_b = block.attn.c_attn.weight.t(), block.attn.c_attn.bias  # (3D, D)
            for k, name in enumerate("qkv"):
                w[p + f"{name}.weight"] = fused_w[k * D:(k + 1) * D]
                w[p + f"{name}.bias"] = fused_b[k * D:(k + 1) * D]
            w[p + "o.weight"], w[p + "o.bias"] = block.attn.c_proj.weight.t(), block.attn.c_proj.bias
            w[p + "norm2.weight"], w[p + "norm2.bias"] = block.ln_2.weight, block.ln_2.bias
            w[p + "fc1.weight"], w[p + "fc1.bias"] = block.mlp.c_fc.weight.t(), block.mlp.c_fc.bias
            w[p + "fc2.weight"], w[p + "fc2.bias"] = block.mlp.c_proj.weight.t(), block.mlp.c_proj.bias
        w["final_norm.weight"], w["final_norm.bias"] = body.ln_f.weight, body.ln_f.bias
    elif spec.family == "opt":
        body = model.model.decoder
        w["embed"] = body.embed_tokens.weight
        w["pos_embed"] = body.embed_positions.weight
        for i, layer in enumerate(body.layers):
            p = f"layers.{i}."
            w[p + "norm1.weight"], w[p + "norm1.bias"] = layer.self_attn_layer_norm.weight, layer.self_attn_layer_norm.bias
            attn = layer.self_attn
            for name, lin in (("q", attn.q_proj), ("k", attn.k_proj), ("v", attn.v_proj), ("o", attn.out_proj)):
                w[p + f"{name}.weight"] = lin.weight
                if lin.bias is not None:
                    w[p + f"{name}.bias"] = lin.bias
            w[p + "norm2.weight"], w[p + "norm2.bias"] = layer.final_layer_norm.weight, layer.final_layer_norm.bias
            for name, lin in (("fc1", layer.fc1), ("fc2", layer.fc2)):
                w[p + f"{name}.weight"] = lin.weight
                if lin.bias is not None:
                    w[p + f"{name}.bias"] = lin.bias
        if body.final_layer_norm is not None:
            w["final_norm.weight"], w["final_norm.bias"] = body.final_layer_norm.weight, body.final_layer_norm.bias
    else:
        body = model.model
        w["embed"] = body.embed_tokens.weight
        for i, layer in enumerate(body.layers):
            p = f"layers.{i}."
            w[p + "norm1.weight"] = layer.input_layernorm.weight
            attn = layer.self_attn
            for name, lin in (("q", attn.q_proj), ("k", attn.k_proj), ("v", attn.v_proj), ("o", attn.o_proj)):
                w[p + f"{name}.weight"] = lin.weight
                if lin.bias is not None:
                    w[p + f"{name}.bias"] = lin.bias
            w[p + "norm2.weight"] = layer.post_attention_layernorm.weight
            mlp = layer.mlp
            w[p + "gate.weight"], w[p + "up.weight"], w[p + "down.weight"] = (
                mlp.gate_proj.weight, mlp.up_proj.weight, mlp.down_proj.weight)
        w["final_norm.weight"] = body.norm.weight
    return w


def updated_parameter_names(spec: AuxSpec, n_simulation_layers: int, norm_gains: bool = False) -> list[str]:
    """The auxiliary parameters one TinT step changes: in the top ``n`` layers, the value, output
    and MLP matrices with their biases, and the LayerNorm biases (``W_Q``, ``W_K`` never change
    under the stop-gradient approximation); the norm gains too with ``norm_gains``
    (``ln_update_bias_only=False``)."""
    names = []
    for i in range(spec.n_layers - n_simulation_layers, spec.n_layers):
        p = f"layers.{i}."
        mats = ["v", "o"] + (["gate", "up", "down"] if spec.mlp == "gated" else ["fc1", "fc2"])
        for m in mats:
            names.append(p + m + ".weight")
            bias = spec.attention_bias if m in ("v", "o") else spec.mlp_bias
            if bias:
                names.append(p + m + ".bias")
        if spec.norm == "layernorm":
            names += [p + "norm1.bias", p + "norm2.bias"]
        if norm_gains:
            names += [p + "norm1.weight", p + "norm2.weight"]
    return names


def hf_parameter(model: Any, spec: AuxSpec, name: str) -> tuple[nn.Parameter, slice | None, bool]:
    """Map a neutral name to ``(hf_parameter, row_slice_in_hf_layout, transposed)`` so that a
    dynamic-evaluation baseline can update exactly the parameters TinT updates."""
    parts = name.split(".")
    layer, kind, what = int(parts[1]), parts[2], parts[3]
    if spec.family == "gpt2":
        block = model.transformer.h[layer]
        D = spec.hidden
        if kind in ("q", "k", "v"):
            k = "qkv".index(kind)
            param = block.attn.c_attn.weight if what == "weight" else block.attn.c_attn.bias
            return param, slice(k * D, (k + 1) * D), what == "weight"
        module = {"o": block.attn.c_proj, "fc1": block.mlp.c_fc, "fc2": block.mlp.c_proj,
                  "norm1": block.ln_1, "norm2": block.ln_2}[kind]
        transposed = what == "weight" and kind in ("o", "fc1", "fc2")
        return getattr(module, what), None, transposed
    if spec.family == "opt":
        lay = model.model.decoder.layers[layer]
        module = {"q": lay.self_attn.q_proj, "k": lay.self_attn.k_proj, "v": lay.self_attn.v_proj,
                  "o": lay.self_attn.out_proj, "fc1": lay.fc1, "fc2": lay.fc2,
                  "norm1": lay.self_attn_layer_norm, "norm2": lay.final_layer_norm}[kind]
        return getattr(module, what), None, False
    lay = model.model.layers[layer]
    module = {"q": lay.self_attn.q_proj, "k": lay.self_attn.k_proj, "v": lay.self_attn.v_proj,
              "o": lay.self_attn.o_proj, "gate": lay.mlp.gate_proj, "up": lay.mlp.up_proj,
              "down": lay.mlp.down_proj, "norm1": lay.input_layernorm,
              "norm2": lay.post_attention_layernorm}[kind]
    return getattr(module, what), None, False
