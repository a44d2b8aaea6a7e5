"""Independent CPU jobs in worker processes: many small torch models train faster side by side.

Small models on a CPU are bound by per-operation overhead, not arithmetic, so one process with
``n`` threads is far from ``n`` times faster than one thread; ``n`` single-threaded processes
are close to it. :func:`process_map` runs picklable jobs that way (the ``spawn`` start method,
so it is safe with CUDA and threads) and returns their results in order. With one worker it
runs in-process, which is also what to use on a GPU.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context
from typing import TypeVar

from methodzoo.shared.errors import ConfigError

Item = TypeVar("Item")
Result = TypeVar("Result")


def cpu_count() -> int:
    """CPUs this process may run on (the affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads, then restore the previous count."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def process_map(fn: Callable[[Item], Result], items: Sequence[Item], *, workers: int | None = None,
                threads_per_worker: int | None = None,
                on_done: Callable[[int], None] | None = None) -> list[Result]:
    """``[fn(item) for item in items]``, computed by up to ``workers`` processes.

    ``fn`` must be a module-level function and items and results picklable. ``workers`` defaults
    to ``min(len(items), cpu_count())``; each worker gets ``cpu_count() // workers`` torch
    threads unless ``threads_per_worker`` says otherwise. Items are started in order, so put the
    longest first. ``on_done(index)`` is called as each job finishes (to advance a progress bar).
    An exception in a job is raised here, after the pool shuts down.
    """
    if workers is not None and workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if threads_per_worker is not None and threads_per_worker < 1:
        raise ConfigError(f"threads_per_worker must be >= 1, got {threads_per_worker}")
    count = min(len(items), workers if workers is not None else cpu_count())
    if count <= 1:
        results = []
        for index, item in enumerate(items):
            results.append(fn(item))
            if on_done is not None:
                on_done(index)
        return results
    threads = threads_per_worker or max(1, cpu_count() // count)
    with ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn"),
                             initializer=_limit_threads, initargs=(threads,)) as pool:
        futures = {pool.submit(fn, item): index for index, item in enumerate(items)}
        done: dict[int, Result] = {}
        try:
            for future in as_completed(futures):
                done[futures[future]] = future.result()
                if on_done is not None:
                    on_done(futures[future])
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # do not start the jobs still queued
            raise
    return [done[index] for index in range(len(items))]


__all__ = ["cpu_count", "process_map"]
