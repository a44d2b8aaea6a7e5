"""Determinism helpers: global seeding for scripts, explicit generators for library code."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from methodzoo.shared.errors import ConfigError


def seed_everything(seed: int, *, deterministic: bool = False) -> None:
    """Seed Python, NumPy and torch (all devices). Library code should take a generator instead.

    With ``deterministic=True`` torch is also asked for deterministic kernels.
    """
    if not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be in [0, 2**63), got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    os.environ.setdefault("PYTHONHASHSEED", str(seed % 2**32))
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


def make_generator(seed: int | torch.Generator | None = None, device: str | torch.device = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` (a fresh random seed when ``None``).

    Passing a generator returns it unchanged, so public functions can accept either.
    """
    if isinstance(seed, torch.Generator):
        return seed
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(int(seed))
    return generator


def numpy_rng(seed: int | np.random.Generator | torch.Generator | None = None) -> np.random.Generator:
    """A NumPy generator from a seed, a NumPy generator (returned as is) or a torch generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, torch.Generator):
        seed = int(torch.randint(0, 2**62, (1,), generator=seed).item())
    return np.random.default_rng(seed)


@contextmanager
def seeded(seed: int, *, devices: list[torch.device | str | int] | None = None) -> Iterator[None]:
    """Run the block with torch's global generator seeded to ``seed``, then restore its state.

    Module constructors draw their initial weights from the global generator; building a model
    inside ``seeded(seed)`` gives the same weights every time without disturbing the caller's
    random stream. Only the CPU generator is seeded unless CUDA ``devices`` are named, whose
    generators are then seeded and restored too; CPU devices in ``devices`` are skipped, so a
    caller can pass the device it builds on, whatever it is.

    >>> with seeded(0):
    ...     a = torch.nn.Linear(2, 2).weight
    >>> with seeded(0):
    ...     b = torch.nn.Linear(2, 2).weight
    >>> bool(torch.equal(a, b))
    True
    """
    if not 0 <= seed < 2**63:
        raise ConfigError(f"seed must be in [0, 2**63), got {seed}")
    cuda = [device for device in devices or [] if torch.device(device).type == "cuda"]
    with torch.random.fork_rng(devices=cuda):
        if cuda:
            torch.manual_seed(seed)
        else:
            torch.default_generator.manual_seed(seed)
        yield
