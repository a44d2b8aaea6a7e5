"""ODE samplers for velocity models in the CUD convention: dx/dt = v(x, t) integrated from t = 1
(x ~ N(0, I)) down to t = 0 (data).

* ``euler``: N steps, N network evaluations (NFE); the paper's default sampler (N = 16).
* ``heun``: EDM's convention as in the official code: N must be odd, (N + 1)/2 time intervals,
  Heun (2 NFE) on each but the last, Euler on the last, so NFE = N.
* ``midpoint``, ``heun2``, ``rk3`` (Kutta), ``rk4``: explicit Runge–Kutta on N uniform intervals
  (NFE = stages·N).
* ``rk45``: adaptive Dormand–Prince through ``scipy.integrate.solve_ivp`` (``rtol``/``atol``;
  N is ignored); NFE is reported by scipy.

Peers (torchcfm, flow_matching) use s = 1 − t with noise at s = 0:
``v_peer(x, s) = −v_cud(x, 1 − s)`` (:func:`peer_to_cud`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from methodzoo.cud.config import SOLVERS
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.modules import eval_mode
from methodzoo.shared.registry import Registry

VelocityFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ButcherTableau:
    """Explicit Runge–Kutta coefficients: stages k_i = v(x + Δ Σ_j a_ij k_j, t + c_i Δ)."""

    a: tuple[tuple[float, ...], ...]
    b: tuple[float, ...]
    c: tuple[float, ...]


TABLEAUS: Registry[ButcherTableau] = Registry("Runge–Kutta tableau")
TABLEAUS.register("euler", ButcherTableau(a=((),), b=(1.0,), c=(0.0,)))
TABLEAUS.register("midpoint", ButcherTableau(a=((), (0.5,)), b=(0.0, 1.0), c=(0.0, 0.5)))
TABLEAUS.register("heun2", ButcherTableau(a=((), (1.0,)), b=(0.5, 0.5), c=(0.0, 1.0)))
TABLEAUS.register("rk3", ButcherTableau(a=((), (0.5,), (-1.0, 2.0)), b=(1 / 6, 2 / 3, 1 / 6), c=(0.0, 0.5, 1.0)))
TABLEAUS.register("rk4", ButcherTableau(a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
                                        b=(1 / 6, 1 / 3, 1 / 3, 1 / 6), c=(0.0, 0.5, 0.5, 1.0)))



@dataclass
class SampleResult:
    """Samples at t = 0, the number of network evaluations, and (optionally) the trajectory."""

    samples: torch.Tensor
    nfe: int
    trajectory: list[torch.Tensor] | None = None


def _time_grid(steps: int, device: torch.device | str = "cpu") -> torch.Tensor:
    return torch.linspace(1.0, 0.0, steps + 1, device=device, dtype=torch.float64)


def _rk_step(velocity: VelocityFn, tableau: ButcherTableau, x: torch.Tensor, t: float,
             delta: float) -> torch.Tensor:
    stages: list[torch.Tensor] = []
    for a_row, c in zip(tableau.a, tableau.c, strict=True):
        point = x
        for a, k in zip(a_row, stages, strict=False):
            if a != 0.0:
                point = point + delta * a * k
        stages.append(velocity(point, _full(x, t + c * delta)))
    increment = torch.zeros_like(x)
    for b, k in zip(tableau.b, stages, strict=True):
        if b != 0.0:
            increment = increment + b * k
    return x + delta * increment


def _full(x: torch.Tensor, t: float) -> torch.Tensor:
    return torch.full((x.shape[0],), t, device=x.device, dtype=x.dtype)


@torch.no_grad()
def integrate(velocity: VelocityFn, x1: torch.Tensor, steps: int, solver: str = "euler", *,
              rtol: float = 1e-5, atol: float = 1e-5, return_trajectory: bool = False) -> SampleResult:
    """Integrate dx/dt = velocity(x, t) from t = 1 (``x1``) to t = 0 with ``solver``."""
    if solver not in SOLVERS:
        raise ConfigError(f"unknown solver {solver!r}; valid solvers: {', '.join(SOLVERS)}")
    if solver != "rk45" and steps < 1:
        raise ConfigError(f"steps must be >= 1, got {steps}")
    if solver == "rk45":
        return _integrate_scipy(velocity, x1, rtol=rtol, atol=atol)
    trajectory = [x1] if return_trajectory else None
    x = x1
    nfe = 0
    if solver == "heun":
        if steps % 2 == 0:
            raise ConfigError(f"solver='heun' counts network evaluations N and needs an odd N "
                              f"(it takes (N+1)/2 steps, the last one Euler), got {steps}")
        grid = _time_grid((steps + 1) // 2, x1.device).tolist()
        for i in range(len(grid) - 1):
            t, t_next = grid[i], grid[i + 1]
            delta = t_next - t
            d = velocity(x, _full(x, t))
            nfe += 1
            x_euler = x + delta * d
            if i < len(grid) - 2:
                d_next = velocity(x_euler, _full(x, t_next))
                nfe += 1
                x = x + delta * 0.5 * (d + d_next)
            else:
                x = x_euler
            if trajectory is not None:
                trajectory.append(x)
        return SampleResult(x, nfe, trajectory)
    tableau = TABLEAUS.get(solver)
    grid = _time_grid(steps, x1.device).tolist()
    for i in range(steps):
        x = _rk_step(velocity, tableau, x, grid[i], grid[i + 1] - grid[i])
        if trajectory is not None:
            trajectory.append(x)
    return SampleResult(x, steps * len(tableau.b), trajectory)


def _integrate_scipy(velocity: VelocityFn, x1: torch.Tensor, *, rtol: float, atol: float) -> SampleResult:
    from scipy.integrate import solve_ivp

    shape, dtype, device = x1.shape, x1.dtype, x1.device
    calls = 0

    def fun(t: float, y: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += 1
        x = torch.from_numpy(y).to(device=device, dtype=dtype).reshape(shape)
        return velocity(x, _full(x, t)).reshape(-1).double().cpu().numpy()

    solution = solve_ivp(fun, (1.0, 0.0), x1.reshape(-1).double().cpu().numpy(), method="RK45",
                         rtol=rtol, atol=atol)
    if not solution.success:
        raise RuntimeError(f"scipy RK45 failed: {solution.message}")
    samples = torch.from_numpy(solution.y[:, -1]).to(device=device, dtype=dtype).reshape(shape)
    return SampleResult(samples, calls)


def model_velocity(model: nn.Module, head: int = 1) -> VelocityFn:
    """v(x, t) of head g_``head`` of a CUD model, evaluated in eval mode by the samplers."""
    return lambda x, t: model(x, t, head)


def peer_to_cud(peer_velocity: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> VelocityFn:
    """Convert a peer's field (noise at s = 0, data at s = 1) to CUD's: v(x, t) = −v_peer(x, 1 − t)."""
    return lambda x, t: -peer_velocity(x, 1.0 - t)


def sample(model: nn.Module, n: int, steps: int = 16, solver: str = "euler", *, head: int = 1,
           data_shape: tuple[int, ...] | None = None, generator: torch.Generator | None = None,
           device: torch.device | str | None = None, batch_size: int = 1000,
           return_trajectory: bool = False, rtol: float = 1e-5, atol: float = 1e-5) -> SampleResult:
    """Draw ``n`` samples: z1 ~ N(0, I) at t = 1, then the ODE to t = 0 with ``steps`` and ``solver``.

    ``model`` is a :class:`~methodzoo.cud.networks.CUDModel` (or any ``model(x, t, head)`` with
    ``data_shape`` given). The model is put in eval mode (dropout off) and restored afterwards.
    Returns a :class:`SampleResult` (``.samples``, ``.nfe``).
    """
    if n < 1:
        raise ConfigError(f"n must be >= 1, got {n}")
    shape = tuple(data_shape if data_shape is not None else model.data_shape)  # type: ignore[arg-type]
    if device is None:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else "cpu"
    pieces: list[SampleResult] = []
    with eval_mode(model):
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            x1 = torch.randn((count, *shape), generator=generator).to(device)
            pieces.append(integrate(model_velocity(model, head), x1, steps, solver, rtol=rtol, atol=atol,
                                    return_trajectory=return_trajectory))
    trajectory = None
    if return_trajectory:
        paths = [p.trajectory for p in pieces if p.trajectory is not None]
        trajectory = [torch.cat([path[i] for path in paths]) for i in range(len(paths[0]))]
    return SampleResult(torch.cat([p.samples for p in pieces]), max(p.nfe for p in pieces), trajectory)
