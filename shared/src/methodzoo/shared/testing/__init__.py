"""Helpers for methodzoo's tests: writers of the standard on-disk dataset formats, statistical
bands, running code under Triton's CPU interpreter, and (in ``testing.torchrun``) launching
``torchrun`` on CPU. Used by the tests of every package."""

from methodzoo.shared.testing.formats import write_cifar_batches, write_idx, write_png_folder
from methodzoo.shared.testing.stats import binomial_band
from methodzoo.shared.testing.triton import run_in_triton_interpreter, skip_without_triton

__all__ = [
    "binomial_band",
    "run_in_triton_interpreter",
    "skip_without_triton",
    "write_cifar_batches",
    "write_idx",
    "write_png_folder",
]
