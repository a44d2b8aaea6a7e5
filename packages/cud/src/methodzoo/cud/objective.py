"""The Catch-Up Distillation objective (Shao et al., arXiv 2305.10769), as a class of named steps.

Notation (paper / official code): z0 = x (data), z1 (latent), x_t = t·z1 + (1−t)·z0,
u = z1 − z0, t = ε + (1−ε)·U(0,1), h = Δt the catch-up step, sg = stop-gradient, v the teacher's
first head. Targets of order K ("RK-12", "RK-23", "RK-34"):

* K = 1: ``T_1 = v(x_t − h·k1, t − h)`` with ``k1 = v(x_t, t)``.
* K = 2: ``k2 = v(x_t − h·k1, t − h)``, ``s = (k1 + k2)/2``, ``T_j = v(x_t − j·h·s, t − j·h)``, j = 1, 2.
* K = 3: ``k3 = v(x_t − h(7/4·k1 + 1/4·k2), t − 2h)``, ``s = 5/12·k1 + 2/3·k2 − 1/12·k3``,
  ``T_j = v(x_t − j·h·s, t − j·h)``, j = 1, 2, 3.

Times are clamped to [ε, 1]; where ``t < ε + K·h`` the targets are replaced by u (the threshold
for K = 3 is not documented in the paper or code: ε + 3h is our assumption). The loss is
``ω1·Σ_j MSE(g_j, T_j) + ω2·Σ_j MSE(g_j, u) + kl_weight·KL(q_φ(z1|x) ‖ N(0,I))/D``.

Override a step (``sample_time``, ``sample_catch_up_dt``, ``sample_coupling``, ``compute_xt``,
``compute_velocity``, ``runge_kutta_points``, ``catch_up_targets``, ``loss_weights``) to make a variant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from methodzoo.cud.config import CUDConfig
from methodzoo.cud.networks import CUDModel
from methodzoo.shared.errors import ConfigError

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _broadcast(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(B,) → (B, 1, ...) so it multiplies tensors of any rank (vectors or images)."""
    return t.reshape(-1, *([1] * (like.ndim - 1)))


def gaussian_kl(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) per sample, summed over dimensions: ½Σ(μ² + σ² − 1 − log σ²). Shape (B,)."""
    kl = 0.5 * (mean.square() + log_variance.exp() - 1.0 - log_variance)
    return kl.flatten(1).sum(dim=1)


@dataclass
class Coupling:
    """A draw of the latent z1 for a batch of data, with its KL term (zero when independent)."""

    z1: torch.Tensor
    kl: torch.Tensor  # (B,), summed over dimensions


class CatchUpDistillation:
    """The CUD training objective with the paper's named steps.

    >>> from methodzoo.cud import CUDConfig, NetworkConfig, build_model
    >>> cud = CatchUpDistillation(CUDConfig(order=2))
    >>> model = build_model((2,), NetworkConfig.mlp(dropout=0.0), order=2, coupling="vae")
    >>> out = cud.loss(model, torch.randn(8, 2), generator=torch.Generator().manual_seed(0))
    >>> sorted(out)[:3]
    ['kl', 'loss', 'loss_catch_up']
    """

    def __init__(self, config: CUDConfig | None = None) -> None:
        self.config = config or CUDConfig()

    # ----- sampling of t, Δt and z1 ------------------------------------------------------------
    def sample_time(self, batch: int, generator: torch.Generator | None = None,
                    device: torch.device | str = "cpu") -> torch.Tensor:
        """t = ε + (1 − ε)·U(0, 1), shape (B,)."""
        eps = self.config.epsilon
        uniform = torch.rand(batch, generator=generator, device=device)
        return eps + (1.0 - eps) * uniform

    def sample_catch_up_dt(self, t: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The catch-up step Δt: ``uniform`` U(0, 1/T) (default), ``rule`` t/T, ``origin`` 1/T."""
        T = self.config.catch_up_T
        if self.config.dt_mode == "uniform":
            return torch.rand(t.shape, generator=generator, device=t.device, dtype=t.dtype) / T
        if self.config.dt_mode == "rule":
            return t / T
        return torch.full_like(t, 1.0 / T)

    def sample_coupling(self, model: CUDModel, z0: torch.Tensor,
                        generator: torch.Generator | None = None) -> Coupling:
        """z1 = μ_φ(z0) + σ_φ(z0)·ξ (vae coupling, with KL) or z1 = ξ ~ N(0, I) (independent)."""
        xi = torch.randn(z0.shape, generator=generator, device=z0.device, dtype=z0.dtype)
        if self.config.coupling == "independent":
            return Coupling(xi, torch.zeros(z0.shape[0], device=z0.device, dtype=z0.dtype))
        if model.encoder is None:
            raise ConfigError("coupling='vae' needs a model built with an encoder (build_model(..., coupling='vae'))")
        mean, log_variance = model.encoder(z0)
        return Coupling(mean + (0.5 * log_variance).exp() * xi, gaussian_kl(mean, log_variance))

    # ----- the interpolation ----------------------------------------------------------------------
    def compute_xt(self, z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t = t·z1 + (1 − t)·z0."""
        tb = _broadcast(t, z0)
        return tb * z1 + (1.0 - tb) * z0

    def compute_velocity(self, z0: torch.Tensor, z1: torch.Tensor) -> torch.Tensor:
        """The ground-truth velocity u = dx_t/dt = z1 − z0."""
        return z1 - z0

    # ----- catch-up targets ----------------------------------------------------------------------
    def runge_kutta_points(self, velocity: VelocityFn, x_t: torch.Tensor, t: torch.Tensor,
                           h: torch.Tensor, k1: torch.Tensor | None = None,
                           ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The points (x, time) at which the targets T_1..T_K are evaluated, from the slopes k_i.

        Order 1: x_t − h·k1 at t − h. Order 2/3: x_t − j·h·s at t − j·h with the RK slope s.
        ``k1`` = sg[v(x_t, t)] when already known (the online teacher reuses the student's output).
        """
        order = self.config.order
        eps = self.config.epsilon
        hb = _broadcast(h, x_t)

        def at(time: torch.Tensor) -> torch.Tensor:
            return time.clamp(eps, 1.0)

        if k1 is None:
            k1 = velocity(x_t, t)
        if order == 1:
            return [x_t - hb * k1], [at(t - h)]
        k2 = velocity(x_t - hb * k1, at(t - h))
        if order == 2:
            slope = (k1 + k2) / 2
        else:
            k3 = velocity(x_t - hb * (1.75 * k1 + 0.25 * k2), at(t - 2 * h))
            slope = 5.0 / 12.0 * k1 + 2.0 / 3.0 * k2 - 1.0 / 12.0 * k3
        points = [x_t - j * hb * slope for j in range(1, order + 1)]
        times = [at(t - j * h) for j in range(1, order + 1)]
        return points, times

    @torch.no_grad()
    def catch_up_targets(self, velocity: VelocityFn, x_t: torch.Tensor, t: torch.Tensor, h: torch.Tensor,
                         u: torch.Tensor, k1: torch.Tensor | None = None) -> list[torch.Tensor]:
        """T_1..T_K = sg[v(point_j, time_j)], replaced by u where t < ε + K·h (``mask_targets``)."""
        points, times = self.runge_kutta_points(velocity, x_t, t, h, k1)
        targets = [velocity(point, time) for point, time in zip(points, times, strict=True)]
        if self.config.mask_targets:
            near_data = _broadcast(t < self.config.epsilon + self.config.order * h, u)
            targets = [torch.where(near_data, u, target) for target in targets]
        return targets

    # ----- weights and the loss -----------------------------------------------------------------
    def loss_weights(self, step: int = 0, total_steps: int = 1) -> tuple[float, float]:
        """(ω1, ω2): constant, or linear ω1 = 2i/I, ω2 = 2(1 − i/I)."""
        if self.config.weight_schedule == "linear":
            fraction = min(max(step / max(total_steps, 1), 0.0), 1.0)
            return 2.0 * fraction, 2.0 * (1.0 - fraction)
        return self.config.omega1, self.config.omega2

    def teacher_velocity(self, teacher: nn.Module) -> VelocityFn:
        """v(x, t) of the teacher's first head g_1 (called under no-grad by ``catch_up_targets``)."""
        return lambda x, t: teacher(x, t, 1)

    def loss(self, model: CUDModel, z0: torch.Tensor, *, step: int = 0, total_steps: int = 1,
             teacher: nn.Module | None = None,
             generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The CUD loss for a data batch z0; returns ``loss`` and its parts.

        ``teacher``: the network giving the targets (default: ``model`` itself, the online
        teacher, left in its current train mode so dropout stays active as in the official code;
        pass the EMA copy for ``teacher="ema"``).
        """
        if z0.shape[1:] != torch.Size(model.data_shape):
            raise ConfigError(f"data of shape {tuple(z0.shape[1:])} does not match the model's "
                              f"{model.data_shape}")
        if model.num_heads < self.config.order:
            raise ConfigError(f"order {self.config.order} needs {self.config.order} heads; the model has "
                              f"{model.num_heads}")
        batch = z0.shape[0]
        t = self.sample_time(batch, generator, z0.device).to(z0.dtype)
        coupling = self.sample_coupling(model, z0, generator)
        x_t = self.compute_xt(z0, coupling.z1, t)
        u = self.compute_velocity(z0, coupling.z1)
        outputs = model.heads(x_t, t)[: self.config.order]
        omega1, omega2 = self.loss_weights(step, total_steps)

        ode_loss = sum((F.mse_loss(g, u) for g in outputs), torch.zeros((), device=z0.device))
        catch_up_loss = torch.zeros((), device=z0.device)
        if self.config.uses_catch_up:
            h = self.sample_catch_up_dt(t, generator)
            # The targets use sg[u] and sg[x_t]: no gradient reaches the encoder through them.
            # Online teacher: k1 = sg[v_θ(x_t, t)] is the student's own first head, detached (same
            # dropout mask); the EMA teacher evaluates its own k1.
            k1 = outputs[0].detach() if teacher is None else None
            targets = self.catch_up_targets(self.teacher_velocity(teacher if teacher is not None else model),
                                            x_t.detach(), t, h, u.detach(), k1)
            catch_up_loss = sum((F.mse_loss(g, target) for g, target in zip(outputs, targets, strict=True)),
                                catch_up_loss)
        data_dim = z0[0].numel()
        kl = coupling.kl.mean() / data_dim
        loss = omega1 * catch_up_loss + omega2 * ode_loss + self.config.kl_weight * kl
        return {"loss": loss, "loss_catch_up": catch_up_loss.detach(), "loss_ode": ode_loss.detach(),
                "kl": kl.detach(), "omega1": torch.tensor(omega1), "omega2": torch.tensor(omega2)}
