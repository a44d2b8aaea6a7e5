"""Real int8 inference for linear layers: int8 weights, int8 activations, int32 accumulation.

:class:`Int8Linear` stores the weight as int8 with one float scale per output channel
(symmetric), quantizes each input row on the fly to int8 with its own scale (dynamic
quantization) and multiplies with ``torch._int_mm`` (int8 × int8 → int32). Its state dict is
plain tensors (int8 weight, float scales, bias), so checkpoints and ``copy.deepcopy`` work.
``engine="torch.ao"`` uses torch's own dynamic quantization instead (the peer; its packed
weights do not go into safetensors checkpoints). Both are checked for at run time: a torch
or CPU without the backend raises :class:`BackendUnavailableError` naming what is missing.
Convolutions stay in float (torch has no dynamic int8 convolution).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from methodzoo.shared.compress.masks import bake_
from methodzoo.shared.compress.targets import LayerSelection, find_targets, replace_module
from methodzoo.shared.errors import UserError

Engine = Literal["auto", "int_mm", "torch.ao"]


class BackendUnavailableError(UserError):
    """The requested real low-precision backend does not exist in this torch build or on this device."""


@dataclass(frozen=True)
class Int8Dynamic(LayerSelection):
    """Replace the selected ``nn.Linear`` layers by int8 ones (dynamic activation quantization).

    ``engine="int_mm"``: :class:`Int8Linear` (``torch._int_mm``); ``"torch.ao"``:
    ``torch.ao.quantization.quantize_dynamic``; ``"auto"``: the first that works here.
    """

    engine: Engine = "auto"


@cache
def int_mm_available(device: str = "cpu") -> bool:
    """Whether ``torch._int_mm`` exists and runs on ``device``."""
    if not hasattr(torch, "_int_mm"):
        return False
    try:
        a = torch.ones(32, 32, dtype=torch.int8, device=device)
        return bool(torch._int_mm(a, a)[0, 0].item() == 32)
    except (RuntimeError, NotImplementedError):
        return False


def torch_ao_available() -> bool:
    """Whether torch's eager dynamic quantization and a quantized engine are present."""
    try:
        from torch.ao.quantization import quantize_dynamic  # noqa: F401
    except ImportError:
        return False
    engines = [e for e in torch.backends.quantized.supported_engines if e != "none"]
    return bool(engines)


class Int8Linear(nn.Module):
    """``y = (q(x) · W_q) · s_x · s_W + b`` with int8 ``q(x)``, ``W_q`` and an int32 product."""

    weight_int8: torch.Tensor
    weight_scale: torch.Tensor

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: torch.device | str | None = None) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.register_buffer("weight_int8", torch.zeros(out_features, in_features, dtype=torch.int8, device=device))
        self.register_buffer("weight_scale", torch.ones(out_features, device=device))
        self.bias = nn.Parameter(torch.zeros(out_features, device=device)) if bias else None

    @classmethod
    @torch.no_grad()
    def from_linear(cls, linear: nn.Linear) -> Int8Linear:
        weight = linear.weight.detach().float()
        new = cls(linear.in_features, linear.out_features, linear.bias is not None, weight.device)
        scale = weight.abs().amax(1).clamp_min(torch.finfo(torch.float32).tiny) / 127.0
        new.weight_int8.copy_(torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8))
        new.weight_scale.copy_(scale)
        if linear.bias is not None and new.bias is not None:
            new.bias.copy_(linear.bias.detach())
        return new

    def dequantized_weight(self) -> torch.Tensor:
        return self.weight_int8.float() * self.weight_scale[:, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        rows = x.reshape(-1, self.in_features).float()  # (M, K)
        scale = rows.abs().amax(1, keepdim=True).clamp_min(torch.finfo(torch.float32).tiny) / 127.0
        quantized = torch.round(rows / scale).clamp(-127, 127).to(torch.int8)
        count = quantized.shape[0]
        if quantized.is_cuda and count <= 16:  # the CUDA kernel needs more than 16 rows
            quantized = F.pad(quantized, (0, 0, 0, 17 - count))
        product = torch._int_mm(quantized, self.weight_int8.t())[:count]  # (M, N) int32
        out = product.float() * scale * self.weight_scale
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*shape[:-1], self.out_features).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def resolve_engine(engine: Engine, device: str = "cpu") -> Literal["int_mm", "torch.ao"]:
    """The engine to use, or :class:`BackendUnavailableError` explaining what is missing."""
    if engine in ("auto", "int_mm") and int_mm_available(device):
        return "int_mm"
    if engine in ("auto", "torch.ao") and device == "cpu" and torch_ao_available():
        return "torch.ao"
    wanted = {"auto": "torch._int_mm or torch.ao dynamic quantization",
              "int_mm": "torch._int_mm (int8 matmul, torch >= 2.2)",
              "torch.ao": "torch.ao.quantization.quantize_dynamic with a quantized engine (CPU only)"}[engine]
    raise BackendUnavailableError(
        f"real int8 needs {wanted}, which torch {torch.__version__} does not provide on {device}; "
        "use FakeQuant(bits=8) to study int8 accuracy without the speed-up")


@torch.no_grad()
def apply_int8_(model: nn.Module, config: Int8Dynamic) -> None:
    """Swap the selected linear layers for int8 ones (masks and other parametrizations are baked in)."""
    targets = [t for t in find_targets(model, config, kinds=("linear",))]
    if not targets:
        raise UserError("Int8Dynamic: no nn.Linear layers selected")
    device = str(targets[0].value().device.type)
    engine = resolve_engine(config.engine, device)
    for target in targets:
        bake_(target.module, target.tensor)
    if engine == "int_mm":
        for target in targets:
            assert isinstance(target.module, nn.Linear)
            replacement = Int8Linear.from_linear(target.module)
            if target.name:
                replace_module(model, target.name, replacement)
            else:
                raise UserError("Int8Dynamic cannot replace the root module; wrap the layer in a container")
        return
    from torch.ao.quantization import quantize_dynamic

    names = {t.name for t in targets}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao announces its own deprecation on every call
        quantize_dynamic(model, names, dtype=torch.qint8, inplace=True)
