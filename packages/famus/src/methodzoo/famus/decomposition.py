"""The layer-wise decomposition of the meta-gradient (FaMUS Eq. 7).

With ŵ_l = w_l − α·(1/n)·Σ_i V_i ∇_{w_l} L_i^tra, the chain rule splits the MW-Net meta-gradient
into one term per layer::

    g = Σ_l g_l,   g_l = −(α/(n·m))·Σ_i (Σ_j G_ijl)·∂V_i/∂θ,   G_ijl = (∂L_j^val/∂ŵ_l)ᵀ(∂L_i^tra/∂w_l)

and g_l is exactly the meta-gradient obtained when only layer l's virtual update is attached to θ
(all other layers detached). FaMUS keeps the terms of the layers its samplers select (Eq. 9).
"""

from __future__ import annotations

import torch

from methodzoo.famus.layers import LayerUnit, layer_units
from methodzoo.famus.methods import MetaWeightNet, VirtualStep


def attached_virtual_parameters(method: MetaWeightNet, state: VirtualStep,
                                attached: set[str]) -> dict[str, torch.Tensor]:
    """ŵ with the graph to θ kept only for the parameter names in ``attached``."""
    w_hat: dict[str, torch.Tensor] = {}
    for name, p in method.model.named_parameters():
        if name not in state.grads:
            w_hat[name] = p
        elif name in attached:
            w_hat[name] = p.detach() - state.alpha * state.grads[name]
        else:
            w_hat[name] = (p - state.alpha * state.grads[name]).detach()
    return w_hat


def layerwise_meta_gradients(method: MetaWeightNet, x: torch.Tensor, y: torch.Tensor, x_meta: torch.Tensor,
                             y_meta: torch.Tensor, units: list[LayerUnit] | None = None,
                             ) -> tuple[list[torch.Tensor], dict[str, list[torch.Tensor]]]:
    """The full MW-Net meta-gradient ∇_θ L_c and its Eq. 7 terms g_l, one list per layer.

    Returns ``(full, terms)``: ``full`` is a list of tensors shaped like θ's parameters and
    ``terms[l]`` the same for layer l alone. Nothing is updated.
    """
    units = units if units is not None else layer_units(method.model, method.config.gate_granularity)
    theta = list(method.meta_net.parameters())
    state = method.virtual_gradients(x, y)

    def meta_grad(attached: set[str]) -> list[torch.Tensor]:
        state.w_hat = attached_virtual_parameters(method, state, attached)
        loss = method.meta_loss(state, x_meta, y_meta)
        if not loss.requires_grad:
            return [torch.zeros_like(p) for p in theta]
        grads = torch.autograd.grad(loss, theta, retain_graph=True, allow_unused=True)
        return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, theta, strict=True)]

    full = meta_grad(set(state.grads))
    terms = {unit.name: meta_grad(set(unit.parameters)) for unit in units}
    return full, terms
