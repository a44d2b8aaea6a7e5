"""Fused GPU kernels in Triton, each with a plain torch reference.

The pattern every kernel module follows (see ``knn.py`` once a method adds it):

* ``<op>_reference(...)``: plain torch, runs anywhere, the definition of the result;
* ``<op>_triton(...)``: the Triton kernel, imported lazily;
* ``<op>(...)``: the public dispatcher, Triton when :func:`use_triton` says so, else the reference.

Tests compare kernel and reference on small inputs. On a machine without a GPU they run the
Triton kernel under ``TRITON_INTERPRET=1`` (Triton's CPU interpreter) in a subprocess, because the
variable must be set before Triton is imported; see :func:`methodzoo.shared.testing.run_in_triton_interpreter`.
Without Triton installed those tests are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import os

import torch


def triton_importable() -> bool:
    """True when the ``triton`` package is installed (it ships with Linux CUDA builds of torch)."""
    return importlib.util.find_spec("triton") is not None


def triton_interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET") == "1"


def use_triton(device: torch.device | str) -> bool:
    """Whether a kernel should take its Triton path for tensors on ``device``.

    ``METHODZOO_KERNELS=torch`` forces the references (for debugging and comparisons).
    """
    if os.environ.get("METHODZOO_KERNELS", "").lower() == "torch":
        return False
    device = torch.device(device)
    if not triton_importable():
        return False
    return device.type == "cuda" or (device.type == "cpu" and triton_interpreting())


__all__ = ["triton_importable", "triton_interpreting", "use_triton"]
