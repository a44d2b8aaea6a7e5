"""Run kernel-versus-reference checks under Triton's CPU interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from methodzoo.shared.kernels import triton_importable


def skip_without_triton() -> None:
    """``pytest.skip`` with the reason when Triton is not installed."""
    import pytest

    if not triton_importable():
        pytest.skip("Triton is not installed (it ships with Linux x86-64 CUDA builds of torch)")


def run_in_triton_interpreter(code: str, timeout: float = 600.0) -> str:
    """Run ``code`` in a fresh Python with ``TRITON_INTERPRET=1``; return its stdout.

    The code should ``assert`` its checks; a failure raises ``AssertionError`` with the output.
    """
    env = dict(os.environ, TRITON_INTERPRET="1", CUDA_VISIBLE_DEVICES="")
    completed = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                               text=True, env=env, timeout=timeout, check=False)
    if completed.returncode != 0:
        raise AssertionError(
            f"kernel check failed under TRITON_INTERPRET=1:\n{completed.stdout}\n{completed.stderr}"
        )
    return completed.stdout
