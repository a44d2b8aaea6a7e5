"""Data-parallel training under ``torchrun``: gloo on CPU, nccl on CUDA.

``torchrun --nproc_per_node 2 my_script.py`` sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``;
:func:`setup_distributed` (or the :func:`distributed_session` context manager) reads them,
joins the process group and returns the context. Outside ``torchrun`` it returns a
single-process context and does nothing.

:class:`~methodzoo.shared.train.Trainer` takes the context and averages gradients itself
(:func:`average_gradients`) rather than through ``DistributedDataParallel``: DDP only
synchronises what goes through the wrapper's ``forward``, while methods call their models'
own methods (``heads``, ``encoder``, ``torch.func.functional_call``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn

from methodzoo.shared.device import resolve_device


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the run: rank, number of processes, device, backend."""

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


# How long a process that has finished waits for the others before leaving the process group:
# rank 0 alone may still evaluate or write a checkpoint, for longer than gloo's default timeout
# (30 minutes) at full scale.
LEAVING_TIMEOUT = timedelta(days=1)


def teardown_distributed(context: DistributedContext, *, wait_for_all: bool = True) -> None:
    """Leave the process group; under gloo, by default once every process has reached this point.

    Without the wait, a gloo process that finishes first (rank 1, which writes no checkpoint)
    tears its connections down while rank 0 still works, and now and then aborts with
    "terminate called without an active exception" (seen about once in 25 two-process runs on
    a busy machine). The wait allows :data:`LEAVING_TIMEOUT`, whatever the group's own timeout.
    ``wait_for_all=False`` is for leaving after an error, when the others may never arrive.
    """
    if context.enabled and dist.is_initialized():
        if wait_for_all and context.backend == "gloo":
            dist.monitored_barrier(timeout=LEAVING_TIMEOUT, wait_all_ranks=True)
        dist.destroy_process_group()


@contextmanager
def distributed_session(device: str | torch.device = "auto") -> Iterator[DistributedContext]:
    """:func:`setup_distributed` on entry, :func:`teardown_distributed` on exit.

    After an exception the process leaves without waiting for the others (torchrun stops them).
    """
    context = setup_distributed(device)
    try:
        yield context
    except BaseException:
        teardown_distributed(context, wait_for_all=False)
        raise
    teardown_distributed(context)


def broadcast_module(module: nn.Module, context: DistributedContext) -> None:
    """Give every process rank 0's parameters and buffers."""
    if not context.enabled:
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def sum_across_processes(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The element-wise sum of ``values`` over all processes (``values`` itself when alone)."""
    if not context.enabled:
        return values
    summed = values.to(context.device, copy=True)
    dist.all_reduce(summed)
    return summed.to(values.device)


def broadcast_values(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """Rank 0's ``values`` on every process (``values`` itself when alone)."""
    if not context.enabled:
        return values
    shared = values.to(context.device, copy=True)
    dist.broadcast(shared, src=0)
    return shared.to(values.device)


def average_gradients(parameters: Sequence[torch.Tensor], context: DistributedContext) -> None:
    """Replace each ``.grad`` by its mean over all processes, in one collective per dtype.

    Every process must pass the same parameters in the same order, each with a gradient (a
    zero tensor where a process had none; see :class:`~methodzoo.shared.train.Trainer`).
    """
    if not context.enabled:
        return
    groups: dict[tuple[torch.device, torch.dtype], list[torch.Tensor]] = {}
    for parameter in parameters:
        assert parameter.grad is not None
        groups.setdefault((parameter.grad.device, parameter.grad.dtype), []).append(parameter.grad)
    for grads in groups.values():
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= context.world_size
        for grad, averaged in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
            grad.copy_(averaged.view_as(grad))
