"""Channel groups: the tensors that must lose a slice together when one filter, neuron or head goes.

Removing filter ``j`` of a convolution also removes channel ``j`` of the BatchNorm after it
(weight *and* bias) and input channel ``j`` of the layer that consumes it; masking all of them
makes the masked model compute exactly what the compacted one will (a filter masked alone would
still feed the next layer its BatchNorm bias). Groups are found by tracing the model with
``torch.fx``: a producer's output may pass through BatchNorm, element-wise activations, dropout,
pooling and one flatten before reaching exactly one consumer; anything else (a residual addition,
a concatenation, a second user) leaves the producer unpruned. When the whole model cannot be
traced, each child is traced on its own, so groups inside traceable blocks are still found.
Attention heads and the feed-forward neurons of ``nn.TransformerEncoderLayer``/``DecoderLayer``
are known layouts and need no tracing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import fx, nn

from methodzoo.shared.compress.attention import is_attention, qkvo_layout

Unit = Literal["filter", "neuron", "head"]

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
ELEMENTWISE_MODULES = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid,
    nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softplus, nn.Identity,
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout,
    nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)
ELEMENTWISE_FUNCTIONS = {
    F.relu, F.relu_, torch.relu, torch.relu_, F.relu6, F.leaky_relu, F.elu, F.selu, F.celu, F.gelu,
    F.silu, F.mish, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh, F.hardswish, F.hardsigmoid,
    F.hardtanh, F.softplus, F.dropout, F.dropout1d, F.dropout2d, F.dropout3d,
    F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d,
    F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d,
    F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d,
    torch.max_pool1d, torch.max_pool2d, torch.max_pool3d, torch.avg_pool1d,
    torch.adaptive_avg_pool1d, torch.adaptive_max_pool1d,
}
ELEMENTWISE_METHODS = {"relu", "relu_", "sigmoid", "tanh", "contiguous", "clone"}
SHAPE_QUERIES = {"size", "dim"}


@dataclass(frozen=True)
class Slice:
    """Channel ``c`` of a group owns entries ``offset + c*block … offset + (c+1)*block - 1``
    of ``<module>.<tensor>`` along ``dim``."""

    module: str
    tensor: str
    dim: int
    block: int = 1
    offset: int = 0


@dataclass(frozen=True)
class ChannelGroup:
    """Everything that loses a slice when one of ``channels`` filters/neurons/heads is removed.

    ``importance`` lists the slices whose weights rank the channels (the producer's filter for
    Li et al.'s L1 criterion; all four projections for a head).
    """

    unit: Unit
    producer: str
    channels: int
    slices: tuple[Slice, ...]
    importance: tuple[Slice, ...]


def find_groups(model: nn.Module, unit: Unit) -> list[ChannelGroup]:
    """Every prunable group of ``unit`` in ``model``, in module order."""
    if unit == "head":
        return [g for name, m in model.named_modules() if (g := _head_group(name, m)) is not None]
    groups = list(_transformer_ffn_groups(model)) if unit == "neuron" else []
    groups += _traced_groups(model, "", unit)
    order = {name: i for i, (name, _) in enumerate(model.named_modules())}
    return sorted(groups, key=lambda g: order.get(g.producer, 0))


# ----- attention heads --------------------------------------------------------------------------
def _head_group(name: str, module: nn.Module) -> ChannelGroup | None:
    prefix = f"{name}." if name else ""
    if isinstance(module, nn.MultiheadAttention):
        if module.bias_k is not None or module.add_zero_attn:
            return None
        heads, hd, embed = module.num_heads, module.head_dim, module.embed_dim
        if module._qkv_same_embed_dim:
            projections = [Slice(name, "in_proj_weight", 0, hd, i * embed) for i in range(3)]
        else:
            projections = [Slice(name, f"{p}_proj_weight", 0, hd) for p in "qkv"]
        biases = [Slice(name, "in_proj_bias", 0, hd, i * embed) for i in range(3)] if module.in_proj_bias is not None else []
        output = Slice(f"{prefix}out_proj", "weight", 1, hd)
        return ChannelGroup("head", name, heads, tuple(projections + biases + [output]),
                            tuple([*projections, output]))
    layout = qkvo_layout(module)
    if layout is None:
        return None
    hd = layout.head_dim
    projections = [Slice(f"{prefix}{p}", "weight", 0, hd) for p in ("q_proj", "k_proj", "v_proj")]
    biases = [Slice(f"{prefix}{p}", "bias", 0, hd) for p in ("q_proj", "k_proj", "v_proj")
              if module.get_submodule(p).bias is not None]
    output = Slice(f"{prefix}{layout.output}", "weight", 1, hd)
    return ChannelGroup("head", name, layout.num_heads, tuple(projections + biases + [output]),
                        tuple([*projections, output]))


# ----- feed-forward neurons of torch's transformer layers -----------------------------------------
def _transformer_ffn_groups(model: nn.Module) -> list[ChannelGroup]:
    groups = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
            prefix = f"{name}." if name else ""
            own = [Slice(f"{prefix}linear1", "weight", 0)]
            if module.linear1.bias is not None:
                own.append(Slice(f"{prefix}linear1", "bias", 0))
            groups.append(ChannelGroup("neuron", f"{prefix}linear1", module.linear1.out_features,
                                       (*own, Slice(f"{prefix}linear2", "weight", 1)), (own[0],)))
    return groups


# ----- traced producer → consumer chains ----------------------------------------------------------
class _Tracer(fx.Tracer):
    """Keeps attention layers (and torch.nn modules, the default) as single graph nodes."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return is_attention(m) or super().is_leaf_module(m, module_qualified_name)


def _traced_groups(module: nn.Module, prefix: str, unit: Unit) -> list[ChannelGroup]:
    if _Tracer().is_leaf_module(module, prefix):
        return []
    try:
        graph = _Tracer().trace(module)
    except Exception:
        # Data-dependent Python control flow defeats symbolic tracing: look inside the children.
        groups = []
        for child_name, child in module.named_children():
            groups += _traced_groups(child, f"{prefix}{child_name}.", unit)
        return groups
    modules = dict(module.named_modules())
    groups = []
    for node in graph.nodes:
        if node.op != "call_module":
            continue
        producer = modules[node.target]
        wanted = (unit == "filter" and isinstance(producer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) and producer.groups == 1) \
            or (unit == "neuron" and isinstance(producer, nn.Linear))
        if wanted:
            group = _follow(node, producer, modules, prefix)
            if group is not None:
                groups.append(group)
    return groups


def _value_users(node: fx.Node) -> list[fx.Node]:
    """Users that read the values (not just ``x.size()`` or ``x.shape``)."""
    users = []
    for user in node.users:
        if user.op == "call_method" and user.target in SHAPE_QUERIES:
            continue
        if user.op == "call_function" and user.target is getattr and user.args[1] == "shape":
            continue
        users.append(user)
    return users


def _is_flatten(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        flatten = modules[str(node.target)]
        return isinstance(flatten, nn.Flatten) and flatten.start_dim == 1 and flatten.end_dim == -1
    if (node.op == "call_function" and node.target is torch.flatten) or (node.op == "call_method" and node.target == "flatten"):
        start = node.args[1] if len(node.args) > 1 else node.kwargs.get("start_dim", 0)
        end = node.args[2] if len(node.args) > 2 else node.kwargs.get("end_dim", -1)
        return bool(start == 1 and end == -1)
    if node.op == "call_method" and node.target in ("view", "reshape"):
        shape = node.args[1:] if len(node.args) > 2 else (node.args[1] if len(node.args) > 1 else ())
        return bool(isinstance(shape, (tuple, list)) and len(shape) == 2 and shape[1] == -1)
    return False


def _is_elementwise(node: fx.Node, modules: dict[str, nn.Module]) -> bool:
    if node.op == "call_module":
        return isinstance(modules[str(node.target)], ELEMENTWISE_MODULES)
    if node.op == "call_function":
        return node.target in ELEMENTWISE_FUNCTIONS
    return node.op == "call_method" and node.target in ELEMENTWISE_METHODS


def _follow(start: fx.Node, producer: nn.Module, modules: dict[str, nn.Module], prefix: str) -> ChannelGroup | None:
    """The group of ``producer`` when its output reaches exactly one consumer through
    channel-preserving operations, else ``None``."""
    assert isinstance(producer, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))
    channels = producer.out_features if isinstance(producer, nn.Linear) else producer.out_channels
    norms: list[str] = []
    flattened = False
    node = start
    while True:
        users = _value_users(node)
        if len(users) != 1:
            return None
        node = users[0]
        if node.op == "call_module" and isinstance(modules[str(node.target)], NORMS):
            norm = modules[str(node.target)]
            assert isinstance(norm, NORMS)
            if not norm.affine or norm.num_features != channels:
                return None
            norms.append(str(node.target))
        elif _is_flatten(node, modules):
            if flattened or isinstance(producer, nn.Linear):
                return None
            flattened = True
        elif _is_elementwise(node, modules):
            continue
        elif node.op == "call_module":
            consumer = modules[str(node.target)]
            return _group(producer, str(start.target), norms, consumer, str(node.target), flattened,
                          channels, prefix)
        else:
            return None


def _group(producer: nn.Module, producer_name: str, norms: list[str], consumer: nn.Module,
           consumer_name: str, flattened: bool, channels: int, prefix: str) -> ChannelGroup | None:
    if isinstance(consumer, nn.Linear):
        if flattened:
            if consumer.in_features % channels:
                return None
            block = consumer.in_features // channels
        elif isinstance(producer, nn.Linear) and consumer.in_features == channels:
            block = 1
        else:
            return None
    elif isinstance(consumer, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        if flattened or consumer.groups != 1 or consumer.in_channels != channels or isinstance(producer, nn.Linear):
            return None
        block = 1
    else:
        return None
    unit: Unit = "neuron" if isinstance(producer, nn.Linear) else "filter"
    name = f"{prefix}{producer_name}"
    own = [Slice(name, "weight", 0)]
    if getattr(producer, "bias", None) is not None:
        own.append(Slice(name, "bias", 0))
    norm_slices = [Slice(f"{prefix}{n}", t, 0) for n in norms for t in ("weight", "bias")]
    return ChannelGroup(unit, name, channels,
                        tuple(own + norm_slices + [Slice(f"{prefix}{consumer_name}", "weight", 1, block)]),
                        (own[0],))
