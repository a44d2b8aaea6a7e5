"""Work on many small plots at once without paying for it in memory traffic or thread barriers.

The encoders build ``(B, T', T')`` stacks of plots with a few elementwise operations each. Run
on the whole stack, every operation streams hundreds of megabytes through main memory; run a
plot or two at a time, the temporaries stay in the CPU cache. Torch executes elementwise
operations on fewer than :data:`GRAIN_SIZE` elements in the calling thread, so such small
chunks never enter its thread pool (whose barriers stall whenever the machine is busier than it
has cores); instead :func:`run_in_chunks` shares the chunks out to ``torch.get_num_threads()``
Python threads, torch releasing the interpreter lock while it computes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import torch

GRAIN_SIZE = 32768  # torch's grain size: smaller elementwise operations run in the calling thread


def rows_per_chunk(elements_per_row: int, device: torch.device) -> int:
    """How many plots of ``elements_per_row`` values a chunk holds: as many as stay below the
    grain size on the CPU (at least one); on an accelerator, all of them (``0`` means no limit)."""
    if device.type != "cpu":
        return 0
    return max(1, (GRAIN_SIZE - 1) // max(1, elements_per_row))


def run_in_chunks(total: int, rows: int, work: Callable[[int, int], None]) -> None:
    """Call ``work(start, stop)`` on consecutive chunks of at most ``rows`` rows covering
    ``range(total)`` (one chunk when ``rows`` is 0). On the CPU the rows are split into
    ``torch.get_num_threads()`` contiguous parts, each worked through by its own thread."""
    if total <= 0:
        return
    if rows <= 0:
        work(0, total)
        return
    workers = max(1, min(torch.get_num_threads(), math.ceil(total / rows)))
    bounds = [total * index // workers for index in range(workers + 1)]

    def part(index: int) -> None:
        for start in range(bounds[index], bounds[index + 1], rows):
            work(start, min(start + rows, bounds[index + 1]))

    if workers == 1:
        part(0)
        return
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rp-har") as pool:
        for future in [pool.submit(part, index) for index in range(workers)]:
            future.result()


__all__ = ["GRAIN_SIZE", "rows_per_chunk", "run_in_chunks"]
