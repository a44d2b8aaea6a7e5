"""One torch thread per test: the tensors here are tiny, and on a shared CPU two threads spin
against other jobs (a 5-epoch benchmark run took 291 s with 2 threads, 36 s with 1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
