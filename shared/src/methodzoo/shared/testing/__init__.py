"""Helpers for methodzoo's tests: writers of the standard on-disk dataset formats, statistical
bands, tiny models with real layer graphs, running code under Triton's CPU interpreter, and (in
``testing.torchrun``) launching ``torchrun`` on CPU. Used by the tests of every package."""

from methodzoo.shared.testing.formats import (
    tar_gz_bytes,
    write_cifar_batches,
    write_glue_tsv,
    write_hmp,
    write_idx,
    write_movie_snippets_sdist,
    write_png_folder,
    write_snli_sdist,
    write_uci_har,
    write_wisdm_raw,
)
from methodzoo.shared.testing.models import (
    QKVOAttention,
    ResidualBlock,
    TinyConvNet,
    randomize_batchnorm_,
)
from methodzoo.shared.testing.stats import binomial_band
from methodzoo.shared.testing.triton import run_in_triton_interpreter, skip_without_triton

__all__ = [
    "QKVOAttention",
    "ResidualBlock",
    "TinyConvNet",
    "binomial_band",
    "randomize_batchnorm_",
    "run_in_triton_interpreter",
    "skip_without_triton",
    "tar_gz_bytes",
    "write_cifar_batches",
    "write_glue_tsv",
    "write_hmp",
    "write_idx",
    "write_movie_snippets_sdist",
    "write_png_folder",
    "write_snli_sdist",
    "write_uci_har",
    "write_wisdm_raw",
]
