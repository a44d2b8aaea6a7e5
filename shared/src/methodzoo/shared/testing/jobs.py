"""Module-level jobs for testing :func:`methodzoo.shared.parallel.process_map`: worker processes
started with ``spawn`` import a job by its module path, which test files (collected with
``--import-mode=importlib``) do not have."""

from __future__ import annotations


def square_and_thread_count(x: int) -> tuple[int, int]:
    """``(x², torch threads of the worker)``."""
    import torch

    return x * x, torch.get_num_threads()


def fail_on_three(x: int) -> int:
    """``x``, or a ValueError when ``x == 3``."""
    if x == 3:
        raise ValueError("three is not allowed")
    return x
