"""Peak memory: the process's resident set and tensor storage, on CPU and CUDA.

CPU torch keeps no allocator statistics, so :class:`PeakTensorMemory` counts tensor storage as it
is allocated and freed, through the dispatcher. The resident set (RSS) includes everything the
process holds (Python objects, libraries, NumPy arrays); on Linux its peak can be reset, so
:func:`peak_memory` reports the peak of the block itself rather than of the process's life.
"""

from __future__ import annotations

import resource
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


def process_peak_rss_bytes() -> int:
    """Peak resident set of this process in bytes (since start, or since the last reset)."""
    if _STATUS.exists():
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes, Linux: KiB


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux); False where not possible."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


class PeakTensorMemory(TorchDispatchMode):
    """Peak bytes of tensor storage allocated (and still alive) during the ``with`` block, counted
    through the dispatcher; works on CPU, where torch keeps no allocator statistics. Storage that
    existed before the block is not counted."""

    def __init__(self) -> None:
        super().__init__()
        self.live = 0
        self.peak = 0
        self._seen: set[int] = set()

    def _free(self, key: int, nbytes: int) -> None:
        self._seen.discard(key)
        self.live -= nbytes

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor) and tensor.device.type != "meta":
                storage = tensor.untyped_storage()
                key = id(storage)
                if key in self._seen:
                    continue
                self._seen.add(key)
                nbytes = storage.nbytes()
                self.live += nbytes
                self.peak = max(self.peak, self.live)
                weakref.finalize(storage, self._free, key, nbytes)
        return out


@dataclass
class MemoryPeak:
    """Filled in when a :func:`peak_memory` block ends. ``rss_bytes`` is None where the peak RSS
    could not be reset (it is then the process's peak, not the block's)."""

    tensor_bytes: int = 0
    rss_bytes: int | None = None
    process_peak_rss_bytes: int = 0


@contextmanager
def peak_memory(device: torch.device | str = "cpu", *, count_tensors: bool = True) -> Iterator[MemoryPeak]:
    """Measure the peak memory of the ``with`` block::

        with peak_memory(device) as peak:
            model(x)
        peak.tensor_bytes, peak.rss_bytes

    Tensor bytes come from the CUDA allocator on a CUDA device and from :class:`PeakTensorMemory`
    on the CPU (``count_tensors=False`` skips that: it slows small operations down).
    """
    device = torch.device(device)
    result = MemoryPeak()
    resettable = reset_peak_rss()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        yield result
        torch.cuda.synchronize(device)
        result.tensor_bytes = torch.cuda.max_memory_allocated(device) - base
    elif count_tensors:
        with PeakTensorMemory() as tracker:
            yield result
        result.tensor_bytes = tracker.peak
    else:
        yield result
    result.process_peak_rss_bytes = process_peak_rss_bytes()
    result.rss_bytes = result.process_peak_rss_bytes if resettable else None


__all__ = ["MemoryPeak", "PeakTensorMemory", "peak_memory", "process_peak_rss_bytes", "reset_peak_rss"]
