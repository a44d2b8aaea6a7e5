"""Plain cross-entropy, Meta-Weight-Net and MW-Net + FaMUS as classes with paper-named steps.

One iteration of Meta-Weight-Net (Shu et al. 2019; FaMUS paper Sec. 3, Alg. 1):

1. ``virtual_step``:  ŵ(θ) = w − α·(1/n)·Σ_i V_i(θ)·∇_w L_i^tra(w),  V_i = Ψ(L_i; θ)
2. ``meta_step``:     θ ← θ − β·∇_θ (1/m)·Σ_j L_j^val(ŵ(θ))   (exact second order, through step 1)
3. ``actual_step``:   w ← w − α·(1/n)·Σ_i V_i(θ)·∇_w L_i^tra(w)  with the updated θ

FaMUS (Xu et al., CVPR 2021) keeps steps 1 and 3 and changes step 2: per-layer samplers
r_l = Γ(ḡ_l; η_l) ∈ {0, 1} (Eq. 8) choose which layers' virtual updates stay attached to θ;
the others are detached, so the meta-backward never visits them (Eq. 9). θ and η are trained
on L = L_c + λ₁·L_r + λ₂·L_g (Eq. 12).

The classifier is any ``nn.Module`` (BatchNorm included): the virtual and meta forwards use
``torch.func.functional_call`` with ŵ, and ``MetaConfig.bn_policy`` says what happens to
BatchNorm running statistics there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from methodzoo.famus.config import MetaConfig
from methodzoo.famus.layers import (
    LayerUnit,
    batchnorm_mode,
    forward_buffers,
    layer_units,
    pooled_gradient,
)
from methodzoo.famus.models import MetaWeightNetwork
from methodzoo.famus.sampler import LayerSamplers, gumbel_gate
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.seed import make_generator
from methodzoo.shared.timing import timed_call

Result = TypeVar("Result")


@dataclass
class VirtualStep:
    """The state after step 1.

    ``w_hat``: ŵ(θ) by parameter name (plus the model's frozen parameters);
    ``grads``: (1/n)·Σ_i V_i ∇_{w} L_i per parameter, with the graph to θ (``create_graph=True``);
    ``weights``: V ``(n,)``; ``losses``: L_i ``(n,)`` (detached); ``alpha``: the step size;
    ``gates``: r ``(U,)``, one gate per gated layer, named by ``gate_names`` (FaMUS only);
    ``attached``: names of the layers whose ŵ keeps its graph to θ; ``lowest_attached``: index
    (in forward order) of the first of them, the number of layers when none is (FaMUS only).
    """

    w_hat: dict[str, torch.Tensor]
    grads: dict[str, torch.Tensor]
    weights: torch.Tensor
    losses: torch.Tensor
    alpha: float
    gates: torch.Tensor | None = None
    gate_names: tuple[str, ...] = ()
    attached: tuple[str, ...] = ()
    lowest_attached: int = 0


class CrossEntropy:
    """Plain cross-entropy on the noisy labels (the baseline); ignores the meta set.

    Every method owns the classifier's optimiser (SGD with momentum and weight decay).
    """

    name = "ce"

    def __init__(self, model: nn.Module, config: MetaConfig | None = None, *,
                 generator: torch.Generator | int | None = None) -> None:
        self.model = model
        self.config = config or MetaConfig()
        self.generator = make_generator(generator)
        self.optimizer = torch.optim.SGD(model.parameters(), lr=self.config.lr, momentum=self.config.momentum,
                                         weight_decay=self.config.weight_decay)
        self.timing = False
        self.last_timings: dict[str, float] = {}

    # ----- pieces ------------------------------------------------------------------------------
    def per_sample_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """L_i: cross-entropy per sample ``(n,)``."""
        return F.cross_entropy(logits, labels, reduction="none")

    def meta_modules(self) -> dict[str, nn.Module]:
        """Modules besides the classifier whose state a checkpoint must hold."""
        return {}

    def meta_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    # ----- steps -------------------------------------------------------------------------------
    def actual_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """The classifier's training loss (the caller runs backward and the optimiser step)."""
        logits = self.model(x)
        return {"loss": self.per_sample_loss(logits, y).mean()}

    def iteration(self, x: torch.Tensor, y: torch.Tensor, x_meta: torch.Tensor | None = None,
                  y_meta: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Everything of one iteration before the classifier's backward; returns ``{"loss": ...}``."""
        return self.actual_step(x, y)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, x_meta: torch.Tensor | None = None,
                   y_meta: torch.Tensor | None = None) -> dict[str, float]:
        """One full iteration including the classifier update (for use without the core Trainer)."""
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        out = self.iteration(x, y, x_meta, y_meta)
        out["loss"].backward()
        self.optimizer.step()
        return {k: float(v.detach()) if isinstance(v, torch.Tensor) else float(v) for k, v in out.items()}

    @property
    def alpha(self) -> float:
        """α: the virtual-step size (the classifier's current learning rate unless configured)."""
        if self.config.virtual_lr is not None:
            return self.config.virtual_lr
        return float(self.optimizer.param_groups[0]["lr"])

    def _timed(self, fn: Callable[[], Result]) -> tuple[Result, float]:
        """``fn()`` and its wall time in ms; with ``timing`` on, queued CUDA work is waited for
        before and after, so each phase is charged its own kernels."""
        device = next(self.model.parameters()).device if self.timing else None
        result, seconds = timed_call(fn, device=device)
        return result, 1e3 * seconds


class MetaWeightNet(CrossEntropy):
    """Meta-Weight-Net (Shu et al., NeurIPS 2019) with the exact meta-gradient through one SGD step.

    Ψ(·; θ) is :class:`MetaWeightNetwork` (1-100-1, sigmoid), trained with Adam (β = 1e-3).
    Override a step to make a variant (FaMUS overrides :meth:`virtual_parameters` and
    :meth:`meta_gradient`).
    """

    name = "mwnet"

    def __init__(self, model: nn.Module, config: MetaConfig | None = None, *,
                 generator: torch.Generator | int | None = None, meta_net: nn.Module | None = None) -> None:
        super().__init__(model, config, generator=generator)
        device = next(model.parameters()).device
        self.meta_net = (meta_net or MetaWeightNetwork(self.config.meta_hidden)).to(device)
        self.meta_optimizer = self._make_meta_optimizer(list(self.meta_net.parameters()))

    def _make_meta_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        cfg = self.config
        if cfg.meta_optimizer == "adam":
            return torch.optim.Adam(params, lr=cfg.meta_lr, weight_decay=cfg.meta_weight_decay)
        return torch.optim.SGD(params, lr=cfg.meta_lr, momentum=0.9, nesterov=True,
                               weight_decay=cfg.meta_weight_decay)

    def meta_modules(self) -> dict[str, nn.Module]:
        return {"meta_net": self.meta_net}

    def meta_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"meta_net": self.meta_optimizer}

    # ----- pieces ------------------------------------------------------------------------------
    def example_weights(self, losses: torch.Tensor) -> torch.Tensor:
        """V_i = Ψ(L_i; θ) ``(n,)``; the loss enters as a value (detached), as in MW-Net."""
        return self.meta_net(losses.detach())

    def weighted_loss(self, weights: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        """(1/n)·Σ_i V_i L_i (MW-Net) or Σ_i V_i L_i / Σ_i V_i (``weight_normalization='sum'``)."""
        if self.config.weight_normalization == "mean":
            return (weights * losses).mean()
        return (weights * losses).sum() / weights.sum().clamp_min(1e-8)

    def functional_forward(self, params: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """The classifier at ``params`` with the BatchNorm policy of the virtual/meta forwards."""
        buffers = forward_buffers(self.model, self.config.bn_policy)
        with batchnorm_mode(self.model, self.config.bn_policy):
            return functional_call(self.model, {**params, **buffers}, (x,))

    # ----- step 1 ------------------------------------------------------------------------------
    def virtual_step(self, x: torch.Tensor, y: torch.Tensor) -> VirtualStep:
        """Step 1: ŵ(θ) = w − α·(1/n)·Σ_i V_i(θ)·∇_w L_i(w), differentiable in θ."""
        state = self.virtual_gradients(x, y)
        state.w_hat = self.virtual_parameters(dict(self.model.named_parameters()), state)
        return state

    def virtual_gradients(self, x: torch.Tensor, y: torch.Tensor) -> VirtualStep:
        """The first half of step 1: V = Ψ(L; θ) and the weighted gradients g = (1/n)·Σ_i V_i ∇_w L_i."""
        params = dict(self.model.named_parameters())
        trainable = [name for name, p in params.items() if p.requires_grad]
        losses = self.per_sample_loss(self.functional_forward(params, x), y)  # (n,)
        weights = self.example_weights(losses)  # (n,), graph to θ
        loss = self.weighted_loss(weights, losses)
        # create_graph=True keeps ∇_w as a function of V (hence θ) for the meta-backward.
        grad_list = torch.autograd.grad(loss, [params[n] for n in trainable], create_graph=True)
        grads = dict(zip(trainable, grad_list, strict=True))
        return VirtualStep(w_hat={}, grads=grads, weights=weights, losses=losses.detach(), alpha=self.alpha)

    def virtual_parameters(self, params: dict[str, torch.Tensor], state: VirtualStep) -> dict[str, torch.Tensor]:
        """ŵ for every parameter; MW-Net keeps all of them attached to θ.

        ``w`` itself is detached: the meta-gradient is taken only with respect to θ.
        """
        w_hat = {name: p.detach() - state.alpha * state.grads[name] if name in state.grads else p
                 for name, p in params.items()}
        state.attached = tuple(state.grads)
        return w_hat

    # ----- step 2 ------------------------------------------------------------------------------
    def meta_loss(self, state: VirtualStep, x_meta: torch.Tensor, y_meta: torch.Tensor) -> torch.Tensor:
        """L_c = (1/m)·Σ_j L_j^val(ŵ(θ)) on a clean meta batch."""
        return F.cross_entropy(self.functional_forward(state.w_hat, x_meta), y_meta)

    def meta_gradient(self, state: VirtualStep, meta_loss: torch.Tensor) -> tuple[dict[nn.Parameter, torch.Tensor], dict[str, float]]:
        """∇_θ L_c by autograd through the virtual step (only θ is asked for, so nothing else is computed)."""
        params = list(self.meta_net.parameters())
        return dict(zip(params, _grad_or_zeros(meta_loss, params), strict=True)), {"meta_loss": float(meta_loss.detach())}

    def meta_step(self, state: VirtualStep, x_meta: torch.Tensor, y_meta: torch.Tensor) -> dict[str, float]:
        """Step 2: update θ (and FaMUS's η) with the meta-gradient."""
        meta_loss, self.last_timings["meta_forward_ms"] = self._timed(partial(self.meta_loss, state, x_meta, y_meta))
        (grads, scalars), self.last_timings["meta_backward_ms"] = self._timed(
            partial(self.meta_gradient, state, meta_loss))
        optimizers = list(self.meta_optimizers().values())
        for opt in optimizers:
            opt.zero_grad(set_to_none=True)
        for p, g in grads.items():
            p.grad = g
        for opt in optimizers:
            opt.step()
        return scalars

    # ----- step 3 ------------------------------------------------------------------------------
    def actual_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Step 3: the reweighted loss (1/n)·Σ_i V_i(θ')·L_i(w) with the updated, frozen θ'."""
        losses = self.per_sample_loss(self.model(x), y)
        with torch.no_grad():
            weights = self.example_weights(losses)
        return {"loss": self.weighted_loss(weights, losses), "mean_weight": weights.mean()}

    def iteration(self, x: torch.Tensor, y: torch.Tensor, x_meta: torch.Tensor | None = None,
                  y_meta: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if x_meta is None or y_meta is None:
            raise ConfigError(f"{type(self).__name__} needs a clean meta batch (x_meta, y_meta)")
        self.last_timings = {}
        state, virtual_ms = self._timed(partial(self.virtual_step, x, y))
        scalars, meta_ms = self._timed(partial(self.meta_step, state, x_meta, y_meta))
        del state  # frees the second-order graph before the actual step
        out: dict[str, torch.Tensor] = self.actual_step(x, y)
        self.last_timings.update(virtual_ms=virtual_ms, meta_ms=meta_ms)
        for key, value in scalars.items():
            out[key] = torch.tensor(value)
        return out


class FaMUS(MetaWeightNet):
    """MW-Net + FaMUS (Xu et al., CVPR 2021): a layer-wise sampled meta-gradient.

    For each gated layer l a sampler Γ(ḡ_l; η_l) (one MLP per layer, batched in
    :class:`LayerSamplers`) turns the pooled
    weighted training gradient ḡ_l (Eq. 8) into a hard Gumbel gate r_l. In the virtual step a
    layer with r_l = 1 gets ŵ_l = w_l − α·(r_l·g_l + (1 − r_l)·sg(g_l)) (graph kept); a layer with
    r_l = 0 gets sg(w_l − α·g_l), so the meta-backward skips it entirely (Eq. 9). θ and η minimise
    L_c + λ₁·(Σ_l r_l − K)² + λ₂·L_g (Eqs. 10–12), the sum running over *all* gates.

    ``forced_gates`` (a sequence of 0/1 per gated layer, or None) overrides the samplers, for
    tests and timing sweeps.
    """

    name = "famus"

    def __init__(self, model: nn.Module, config: MetaConfig | None = None, *,
                 generator: torch.Generator | int | None = None, meta_net: nn.Module | None = None) -> None:
        super().__init__(model, config, generator=generator, meta_net=meta_net)
        cfg = self.config
        self.units: list[LayerUnit] = layer_units(model, cfg.gate_granularity)
        count = len(self.units)
        candidates = self.units if cfg.candidate_layers is None else self.units[max(0, count - cfg.candidate_layers):]
        always_on = self.units[count - cfg.always_on_last:] if cfg.always_on_last else []
        self.always_on: list[LayerUnit] = [u for u in candidates if u in always_on]
        self.gated: list[LayerUnit] = [u for u in candidates if u not in always_on]
        self.detached: list[LayerUnit] = [u for u in self.units if u not in candidates]
        params = dict(model.named_parameters())
        device = next(model.parameters()).device
        in_features = [sum(_output_dim(params[n]) for n in unit.parameters) for unit in self.gated]
        # with nothing to gate (all layers always on or detached), or random gates, there is no sampler
        learned = bool(self.gated) and cfg.gate_policy == "learned"
        self.samplers: nn.Module = (LayerSamplers(in_features, cfg.sampler_hidden, cfg.sampler_depth)
                                    if learned else nn.Module()).to(device)
        self.sampler_optimizer = torch.optim.SGD(self.samplers.parameters(), lr=cfg.sampler_lr,
                                                 momentum=cfg.sampler_momentum) if learned else None
        self.forced_gates: Sequence[int] | None = None
        self.last_gates: torch.Tensor | None = None  # r of the latest virtual step, for monitoring

    def meta_modules(self) -> dict[str, nn.Module]:
        return {"meta_net": self.meta_net, "samplers": self.samplers}

    def meta_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        optimizers: dict[str, torch.optim.Optimizer] = {"meta_net": self.meta_optimizer}
        if self.sampler_optimizer is not None:
            optimizers["samplers"] = self.sampler_optimizer
        return optimizers

    # ----- Eq. 8 -------------------------------------------------------------------------------
    def sampler_input(self, unit: LayerUnit, grads: dict[str, torch.Tensor]) -> torch.Tensor:
        """ḡ_l: each of the layer's gradients pooled to its output dimension, concatenated ``(D,)``.

        The gradient enters as a value: the gate's choice is not differentiated through g.
        """
        pooled = torch.cat([pooled_gradient(grads[n].detach(), self.config.sampler_input_reduce)
                            for n in unit.parameters])
        if self.config.sampler_standardize and pooled.numel() > 1:
            pooled = (pooled - pooled.mean()) / (pooled.std() + 1e-8)
        return pooled

    def sample_gates(self, grads: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """r = Γ(ḡ; η) ∈ {0, 1}^U, one per gated layer (hard forward, straight-through backward).

        With ``gate_policy='random'`` r has exactly K ones at uniformly drawn layers and no
        gradient (the paper's Table 4 baseline that samples s layers at random).
        """
        if not self.gated:
            return None
        if self.config.gate_policy == "random":
            r = self.random_gates(next(iter(grads.values())))
        else:
            inputs = [self.sampler_input(unit, grads) for unit in self.gated]
            padded = torch.nn.utils.rnn.pad_sequence(inputs, batch_first=True)  # (U, max D_l)
            r = gumbel_gate(self.samplers(padded), self.config.gumbel_tau, self.generator)  # (U,)
        if self.forced_gates is not None:
            # keep the straight-through path but pin the forward value
            r = r - r.detach() + torch.tensor([float(v) for v in self.forced_gates], dtype=r.dtype, device=r.device)
        return r

    def random_gates(self, like: torch.Tensor) -> torch.Tensor:
        """K ones at layers drawn uniformly without replacement, zeros elsewhere ``(U,)``."""
        count = len(self.gated)
        chosen = torch.randperm(count, generator=self.generator)[: min(self.config.budget, count)]
        r = torch.zeros(count, dtype=like.dtype)
        r[chosen] = 1.0
        return r.to(like.device)

    # ----- Eq. 9 -------------------------------------------------------------------------------
    def virtual_parameters(self, params: dict[str, torch.Tensor], state: VirtualStep) -> dict[str, torch.Tensor]:
        if self.forced_gates is not None and len(self.forced_gates) != len(self.gated):
            raise ConfigError(f"forced_gates needs {len(self.gated)} entries (one per gated layer), "
                              f"got {len(self.forced_gates)}")
        state.gates = self.sample_gates(state.grads)
        state.gate_names = tuple(unit.name for unit in self.gated)
        self.last_gates = state.gates.detach() if state.gates is not None else None
        index = {name: i for i, name in enumerate(state.gate_names)}
        on = state.gates.detach().tolist() if state.gates is not None else []
        alpha = state.alpha
        w_hat = {name: p for name, p in params.items() if name not in state.grads}
        attached: list[str] = []
        for unit in self.units:
            i = index.get(unit.name)
            keep = unit in self.always_on or (i is not None and on[i] == 1.0)
            r = state.gates[i] if (keep and i is not None and state.gates is not None) else None
            for name in unit.parameters:
                g = state.grads[name]
                if not keep:
                    # "off": no graph at all, so the meta-backward never reaches this layer
                    w_hat[name] = params[name].detach() - alpha * g.detach()
                elif r is None:
                    w_hat[name] = params[name].detach() - alpha * g
                else:
                    w_hat[name] = params[name].detach() - alpha * (r * g + (1 - r) * g.detach())
            if keep:
                attached.append(unit.name)
        state.attached = tuple(attached)
        unit_index = {unit.name: i for i, unit in enumerate(self.units)}
        # the meta-backward runs from the loss down to the lowest attached layer: that sets its cost
        state.lowest_attached = min((unit_index[name] for name in attached), default=len(self.units))
        if self.config.lambda_g > 0:
            for name in self.units[-1].parameters:  # L_g needs ∂L_c/∂ŵ_L even when layer L is off
                if not w_hat[name].requires_grad:
                    w_hat[name] = w_hat[name].requires_grad_(True)
        return w_hat

    # ----- Eqs. 10-12 --------------------------------------------------------------------------
    def budget_loss(self, gates: torch.Tensor) -> torch.Tensor:
        """L_r = (Σ_l r_l − K)² over every gate (Eq. 10), not just the last one."""
        return (gates.sum() - self.config.budget) ** 2

    def gradient_matching_loss(self, state: VirtualStep, val_grads: dict[str, torch.Tensor]) -> torch.Tensor:
        """L_g on the last layer L (Eq. 11); the validation side is a constant.

        ``paper``: ‖ḡ_L^tra − ḡ_L^val‖² with ḡ the pooled gradients. ``code``: c·mean over the last
        layer's tensors of (μ_tr − μ_val)² + (σ_tr − σ_val)², μ/σ taken over each output row.
        """
        names = self.units[-1].parameters
        if self.config.lg_form == "paper":
            reduce = self.config.sampler_input_reduce
            train = torch.cat([pooled_gradient(state.grads[n], reduce) for n in names])
            val = torch.cat([pooled_gradient(val_grads[n], reduce) for n in names]).detach()
            return ((train - val) ** 2).sum()
        terms = []
        for n in names:
            train = state.grads[n].reshape(state.grads[n].shape[0], -1) if state.grads[n].ndim else state.grads[n].reshape(1, 1)
            val = val_grads[n].detach().reshape(train.shape)  # (D_out, rest)
            terms.append((train.mean(1) - val.mean(1)) ** 2 + (train.std(1, unbiased=False) - val.std(1, unbiased=False)) ** 2)
        return self.config.lg_code_scale * torch.cat(terms).mean()

    def meta_gradient(self, state: VirtualStep, meta_loss: torch.Tensor) -> tuple[dict[nn.Parameter, torch.Tensor], dict[str, float]]:
        """∇_{θ,η} of L_c + λ₁·L_r + λ₂·L_g (Eq. 12), autograd visiting only the attached layers."""
        cfg = self.config
        theta = list(self.meta_net.parameters())
        eta = list(self.samplers.parameters())
        first = meta_loss
        scalars = {"meta_loss": float(meta_loss.detach())}
        if state.gates is not None:
            budget = self.budget_loss(state.gates)
            first = first + cfg.lambda_r * budget
            scalars["L_r"] = float(budget.detach())
            scalars["active_layers"] = float(state.gates.detach().sum())
        else:
            scalars["active_layers"] = 0.0
        scalars["active_layers"] += len(self.always_on)
        scalars["lowest_attached_layer"] = float(state.lowest_attached)
        objective = first
        last = list(self.units[-1].parameters) if cfg.lambda_g > 0 else []
        if last:
            # Eq. 11's validation side ∂L_c/∂ŵ_L is a constant; this backward stops at the last
            # layer's input, so keeping the graph for the main call below costs no extra traversal.
            val_list = _grad_or_zeros(meta_loss, [state.w_hat[n] for n in last], retain_graph=True)
            lg = self.gradient_matching_loss(state, dict(zip(last, val_list, strict=True)))
            scalars["L_g"] = float(lg.detach())
            objective = objective + cfg.lambda_g * lg
        # one meta-backward for L_c + λ₁·L_r + λ₂·L_g, freeing the graph as it goes
        grads = _grad_or_zeros(objective, theta + eta)
        return dict(zip(theta + eta, grads, strict=True)), scalars


def _grad_or_zeros(output: torch.Tensor, inputs: Sequence[torch.Tensor], retain_graph: bool = False) -> list[torch.Tensor]:
    """autograd.grad with zeros for inputs the output does not depend on (e.g. every gate off)."""
    if not output.requires_grad:
        return [torch.zeros_like(t) for t in inputs]
    grads = torch.autograd.grad(output, inputs, allow_unused=True, retain_graph=retain_graph)
    return [torch.zeros_like(t) if g is None else g for g, t in zip(grads, inputs, strict=True)]


def _output_dim(p: torch.Tensor) -> int:
    return 1 if p.ndim == 0 else int(p.shape[0])


METHODS: dict[str, type[CrossEntropy]] = {"ce": CrossEntropy, "mwnet": MetaWeightNet, "famus": FaMUS}


def build_method(name: str, model: nn.Module, config: MetaConfig | None = None, *,
                 generator: torch.Generator | int | None = None) -> CrossEntropy:
    """The method called ``name`` (``ce``, ``mwnet`` or ``famus``) around ``model``."""
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; valid methods: {', '.join(METHODS)}")
    return METHODS[name](model, config, generator=generator)
