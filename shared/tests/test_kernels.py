"""The kernel mechanism: dispatch rules and running a Triton kernel in the CPU interpreter."""

import pytest
import torch

from methodzoo.shared.kernels import triton_importable, use_triton
from methodzoo.shared.testing import run_in_triton_interpreter, skip_without_triton


def test_dispatch_uses_reference_on_cpu_without_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert use_triton(torch.device("cpu")) is False
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert use_triton("cpu") is triton_importable()
    monkeypatch.setenv("METHODZOO_KERNELS", "torch")
    assert use_triton("cpu") is False


def test_interpreter_harness_runs_a_kernel_and_reports_failures():
    skip_without_triton()
    code = """
        import torch, triton, triton.language as tl

        @triton.jit
        def scaled_add(x_ptr, y_ptr, out_ptr, n, alpha, BLOCK: tl.constexpr):
            offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
            mask = offsets < n
            x = tl.load(x_ptr + offsets, mask=mask)
            y = tl.load(y_ptr + offsets, mask=mask)
            tl.store(out_ptr + offsets, x + alpha * y, mask=mask)

        x, y = torch.randn(100), torch.randn(100)
        out = torch.empty_like(x)
        scaled_add[(triton.cdiv(100, 32),)](x, y, out, 100, 0.5, BLOCK=32)
        torch.testing.assert_close(out, x + 0.5 * y)
        print("ok")
    """
    assert run_in_triton_interpreter(code).strip() == "ok"
    with pytest.raises(AssertionError, match="kernel check failed"):
        run_in_triton_interpreter("assert 1 == 2")
