"""Data-parallel training under ``torchrun``: gloo on CPU, nccl on CUDA.

``torchrun --nproc_per_node 2 my_script.py`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``;
:func:`setup_distributed` reads them, joins the process group and returns the context. Outside
``torchrun`` it returns a single-process context and does nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from methodzoo.shared.device import resolve_device


@dataclass(frozen=True)
class DistributedContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None

    @property
    def is_main(self) -> bool:
        """True on the process that writes checkpoints, logs and results."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def setup_distributed(device: str | torch.device = "auto") -> DistributedContext:
    """Join the process group when launched by torchrun; pick this rank's device."""
    resolved = resolve_device(device)
    if not launched_by_torchrun():
        return DistributedContext(0, 1, 0, resolved, None)
    rank = int(os.environ["RANK"])
    world_size = int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if resolved.type == "cuda":
        torch.cuda.set_device(local_rank)
        resolved = torch.device("cuda", local_rank)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return DistributedContext(rank, world_size, local_rank, resolved, backend)


def wrap_model(model: nn.Module, context: DistributedContext) -> nn.Module:
    """Move ``model`` to the context's device and wrap it in DDP when running distributed."""
    model = model.to(context.device)
    if not context.enabled:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids)


def unwrap_model(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def shard(indices: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """This rank's share of a batch of indices (every ``world_size``-th, starting at ``rank``)."""
    return indices[context.rank :: context.world_size]


def barrier(context: DistributedContext) -> None:
    if context.enabled:
        dist.barrier()


def teardown_distributed(context: DistributedContext) -> None:
    if context.enabled and dist.is_initialized():
        dist.destroy_process_group()
