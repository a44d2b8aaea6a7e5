"""Configurations: the codec architecture (:class:`CodecConfig`) and training (:class:`TrainConfig`).

Defaults are the paper's (Ghorbel et al. 2023, arXiv 2307.02273, Sec. III and the official code):
Swin analysis dims [128, 192, 256, 320], depths [2, 2, 6, 2], head dim 32, window 8; hyperprior
depth 192 with Swin depths [5, 1] / [1, 5], window 4; M = 320 latent channels in 10 slices of 32,
``max_support_slices`` = 5; a 64-level scale table between 0.11 and 256. :meth:`CodecConfig.small`
and :meth:`CodecConfig.tiny` shrink every width equally for CPU runs and tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Kind = Literal["conv-charm", "swint-charm", "ict", "aict"]
KINDS: tuple[str, ...] = ("conv-charm", "swint-charm", "ict", "aict")


@dataclass(frozen=True)
class CodecConfig(Config):
    """Architecture of one codec of the ChARM family (Conv-ChARM, SwinT-ChARM, ICT, AICT)."""

    kind: Kind = field(default="ict", metadata={"help": "which model of the paper to build"})
    analysis_dims: tuple[int, ...] = field(
        default=(128, 192, 256, 320),
        metadata={"help": "Swin stage widths of g_a (g_s mirrors them); the last is M, the latent depth"})
    analysis_depths: tuple[int, ...] = field(default=(2, 2, 6, 2), metadata={"help": "Swin blocks per g_a stage"})
    synthesis_depths: tuple[int, ...] = field(default=(2, 6, 2, 2), metadata={"help": "Swin blocks per g_s stage"})
    head_dim: int = field(default=32, metadata={"help": "attention head width in g_a/g_s/h_a/h_s"})
    window_size: int = field(default=8, metadata={"help": "attention window of g_a/g_s"})
    mlp_ratio: float = field(default=4.0, metadata={"help": "Swin MLP expansion"})
    conv_channels: int = field(default=192, metadata={"help": "N of the convolutional g_a/g_s (Conv-ChARM)"})
    hyper_dim: int = field(default=192, metadata={"help": "width of h_a/h_s and depth of z"})
    hyper_analysis_depths: tuple[int, int] = field(default=(5, 1), metadata={"help": "Swin blocks of h_a"})
    hyper_synthesis_depths: tuple[int, int] = field(default=(1, 5), metadata={"help": "Swin blocks of h_s"})
    hyper_window_size: int = field(default=4, metadata={"help": "attention window of h_a/h_s"})
    num_slices: int = field(default=10, metadata={"help": "channel slices of y (M must divide evenly)"})
    max_support_slices: int = field(
        default=5, metadata={"help": "slice i is conditioned on the first min(i, this) decoded slices"})
    slice_depth: int = field(default=2, metadata={"help": "Swin blocks of each ICT slice transform"})
    slice_window_size: int = field(default=4, metadata={"help": "attention window of the ICT slice transforms"})
    slice_head_dims: tuple[int, ...] = field(
        default=(4, 8, 16, 16, 32),
        metadata={"help": "head width of ICT slice transform i (the last repeats for later slices)"})
    slice_hidden: tuple[int, int] = field(
        default=(224, 128), metadata={"help": "hidden widths of the convolutional ChARM slice transforms"})
    hyper_support: Literal["auto", "slice", "full"] = field(
        default="auto",
        metadata={"help": "hyper features fed to slice i: its own 32 channels (ICT official code) or all M "
                          "(Minnen's ChARM); auto = full for the ChARM baselines, slice for ICT/AICT"})
    latent_residual_prediction: Literal["auto", "on", "off"] = field(
        default="auto", metadata={"help": "LRP of Minnen & Singh (auto = on for ChARM baselines, off for ICT/AICT)"})
    output_init_scale: float = field(
        default=0.05,
        metadata={"help": "initial weights of g_s's last layer are multiplied by this and its bias set to "
                          "mid-grey (0 < s; 1 = PyTorch's default init, whose x̂ starts at ~±128 around 0)"})
    scale_param: Literal["index", "scale"] = field(
        default="index", metadata={"help": "h_s predicts a continuous scale-table index (paper) or a scale"})
    scale_min: float = field(default=0.11, metadata={"help": "smallest scale of the table"})
    scale_max: float = field(default=256.0, metadata={"help": "largest scale of the table"})
    scale_levels: int = field(default=64, metadata={"help": "number of scales in the table"})
    tail_mass: float = field(default=1e-9, metadata={"help": "probability left to the escape symbol"})
    likelihood_bound: float = field(default=1e-9, metadata={"help": "floor of the bin likelihoods"})
    factorized_filters: tuple[int, ...] = field(default=(3, 3, 3), metadata={"help": "hidden widths of the z density"})
    z_support_limit: int = field(default=512, metadata={"help": "largest |z| searched when building z's tables"})
    resize_mode: Literal["warp_same_size", "resize"] = field(
        default="warp_same_size",
        metadata={"help": "AICT: zoom inside the same canvas (official code) or truly resize the image"})
    f_min: float = field(default=0.25, metadata={"help": "AICT: lower clamp of the scaling factor f"})
    f_max: float = field(default=4.0, metadata={"help": "AICT: upper clamp of the scaling factor f"})
    cubic_a: float = field(default=-0.5, metadata={"help": "AICT: bicubic kernel parameter"})
    filter_blocks: int = field(default=3, metadata={"help": "AICT: ConvNeXt blocks of the pre/post filters"})
    layer_scale_init: float = field(default=1e-6, metadata={"help": "AICT: ConvNeXt layer-scale init"})
    resize_net_channels: tuple[int, ...] = field(
        default=(16, 32, 64), metadata={"help": "AICT: widths of the residual blocks of ResizeParamNet"})

    def validate(self) -> None:
        check(len(self.analysis_dims) == 4, "analysis_dims needs 4 stage widths, got {}", self.analysis_dims)
        check(len(self.analysis_depths) == 4 and len(self.synthesis_depths) == 4,
              "analysis_depths and synthesis_depths need 4 entries each")
        check(all(d > 0 for d in self.analysis_dims), "analysis_dims must be positive")
        check(all(d >= 0 for d in self.analysis_depths + self.synthesis_depths), "depths must be >= 0")
        for d in self.analysis_dims:
            check(d % self.head_dim == 0, "every analysis dim must be a multiple of head_dim={}, got {}",
                  self.head_dim, d)
        check(self.hyper_dim % self.head_dim == 0, "hyper_dim must be a multiple of head_dim={}", self.head_dim)
        check(self.window_size >= 1 and self.hyper_window_size >= 1 and self.slice_window_size >= 1,
              "window sizes must be >= 1")
        check(self.num_slices >= 1, "num_slices must be >= 1")
        check(self.latent_channels % self.num_slices == 0,
              "M={} latent channels must split evenly into num_slices={}", self.latent_channels, self.num_slices)
        check(0 <= self.max_support_slices <= self.num_slices,
              "max_support_slices must be in [0, num_slices], got {}", self.max_support_slices)
        check(len(self.slice_head_dims) >= 1, "slice_head_dims needs at least one entry")
        if self.kind in ("ict", "aict"):
            for i in range(self.num_slices):
                width = self.slice_input_channels(i)
                head = self.slice_head_dim(i)
                check(width % head == 0, "ICT slice {} has {} input channels, not a multiple of its head dim {}",
                      i, width, head)
        check(self.output_init_scale > 0, "output_init_scale must be positive, got {}", self.output_init_scale)
        check(0 < self.scale_min < self.scale_max, "need 0 < scale_min < scale_max")
        check(self.scale_levels >= 2, "scale_levels must be >= 2")
        check(0 < self.tail_mass < 1e-2, "tail_mass must be in (0, 0.01)")
        check(0 < self.likelihood_bound < 1e-2, "likelihood_bound must be in (0, 0.01)")
        check(0 < self.f_min <= 1.0 <= self.f_max, "need 0 < f_min <= 1 <= f_max")
        check(self.z_support_limit >= 8, "z_support_limit must be >= 8")
        check(self.filter_blocks >= 0, "filter_blocks must be >= 0")
        check(len(self.resize_net_channels) >= 1, "resize_net_channels needs at least one width")

    # ----- derived sizes ------------------------------------------------------------------
    @property
    def latent_channels(self) -> int:
        """M, the depth of y."""
        return self.analysis_dims[-1]

    @property
    def slice_channels(self) -> int:
        return self.latent_channels // self.num_slices

    @property
    def pad_multiple(self) -> int:
        """Images are padded to a multiple of this: stride 16 of g_a times stride 4 of h_a."""
        return 64

    @property
    def uses_swin_transforms(self) -> bool:
        return self.kind != "conv-charm"

    @property
    def uses_lrp(self) -> bool:
        if self.latent_residual_prediction == "auto":
            return self.kind in ("conv-charm", "swint-charm")
        return self.latent_residual_prediction == "on"

    @property
    def hyper_support_mode(self) -> str:
        if self.hyper_support == "auto":
            return "full" if self.kind in ("conv-charm", "swint-charm") else "slice"
        return self.hyper_support

    def num_support_slices(self, i: int) -> int:
        """How many decoded slices slice ``i`` sees: min(i, max_support_slices) (the first ones)."""
        return min(i, self.max_support_slices)

    def slice_input_channels(self, i: int) -> int:
        hyper = self.latent_channels if self.hyper_support_mode == "full" else self.slice_channels
        return hyper + self.slice_channels * self.num_support_slices(i)

    def slice_head_dim(self, i: int) -> int:
        return self.slice_head_dims[min(i, len(self.slice_head_dims) - 1)]

    def log_scale_step(self) -> float:
        return (math.log(self.scale_max) - math.log(self.scale_min)) / (self.scale_levels - 1)

    # ----- presets ------------------------------------------------------------------------
    @classmethod
    def paper(cls, kind: Kind = "ict") -> CodecConfig:
        """The paper's model size (about 30M+ parameters; meant for a GPU)."""
        return cls(kind=kind)

    @classmethod
    def small(cls, kind: Kind = "ict") -> CodecConfig:
        """Every width divided by 4 and one Swin block per stage: trains on a CPU in minutes."""
        return cls(kind=kind, analysis_dims=(32, 48, 64, 96), analysis_depths=(1, 1, 2, 1),
                   synthesis_depths=(1, 2, 1, 1), head_dim=16, window_size=8, conv_channels=48,
                   hyper_dim=48, hyper_analysis_depths=(1, 1), hyper_synthesis_depths=(1, 1),
                   num_slices=6, max_support_slices=3, slice_depth=2, slice_head_dims=(4, 8, 16),
                   slice_hidden=(64, 32))

    @classmethod
    def compact(cls, kind: Kind = "ict") -> CodecConfig:
        """The shipped weights' size (qualities 1-2): tiny's transforms with a 128-channel latent in 8 slices.

        M (the latent depth) bounds the quality a model can reach far more than the transforms'
        widths: at 1/16 resolution, tiny's M = 32 keeps 32 numbers per 768 pixel values and its
        trained models stop near 24 dB whatever λ asks for. Each slice sees the first two decoded
        slices (the paper: five of ten), which keeps ICT at 1.07M parameters, so four qualities of
        ICT and of AICT fit in 20 MB as float16. Trains at about 0.15 s per step (batch 4, 128 px
        crops) on one CPU thread.
        """
        return cls.tiny(kind).replace(analysis_dims=(16, 24, 32, 128), hyper_dim=32, num_slices=8,
                                      max_support_slices=2, slice_head_dims=(4, 8, 16))

    @classmethod
    def compact_wide(cls, kind: Kind = "ict") -> CodecConfig:
        """Compact with wider transforms (g_a/g_s 32-48-64-128, 1.27M parameters): measured for quality 4.

        At compact's widths quality 4 (λ = 0.0483) added a third more rate than quality 3 and no
        PSNR. These widths gave +0.5 dB on the held-out photos at the same λ and steps, for about
        1.6× the time per training step (0.24 s against 0.15 s on one thread) and 1.8× the
        decoding time: the half-resolution stage, where decoding spends most of its time, is
        twice as wide. :meth:`compact_mid` widens only the stages below it and ships instead.
        """
        return cls.compact(kind).replace(analysis_dims=(32, 48, 64, 128))

    @classmethod
    def compact_mid(cls, kind: Kind = "ict") -> CodecConfig:
        """The shipped weights' size at qualities 3-4: compact with wider middle stages (g_a/g_s 16-48-64-128).

        The stages at 1/4 and 1/8 resolution get compact-wide's widths; the half-resolution stage,
        where decoding spends most of its time, keeps compact's 16 channels (1.24M parameters).
        """
        return cls.compact(kind).replace(analysis_dims=(16, 48, 64, 128))

    @classmethod
    def tiny(cls, kind: Kind = "ict") -> CodecConfig:
        """A few thousand parameters: for tests and the quick benchmark."""
        return cls(kind=kind, analysis_dims=(16, 16, 24, 32), analysis_depths=(1, 1, 1, 1),
                   synthesis_depths=(1, 1, 1, 1), head_dim=8, window_size=4, conv_channels=24,
                   hyper_dim=16, hyper_analysis_depths=(1, 1), hyper_synthesis_depths=(1, 1),
                   num_slices=4, max_support_slices=2, slice_depth=1, slice_head_dims=(4, 8),
                   slice_hidden=(24, 16), factorized_filters=(3, 3), resize_net_channels=(8, 8, 8))

    @classmethod
    def preset(cls, name: str, kind: Kind = "ict") -> CodecConfig:
        """The configuration of preset ``name`` (one of :data:`PRESETS`) for ``kind``."""
        check(name in PRESETS, "unknown preset {!r}; valid: {}", name, ", ".join(PRESETS))
        return getattr(cls, name.replace("-", "_"))(kind)  # each preset is the classmethod of its name


PRESETS: tuple[str, ...] = ("tiny", "compact", "compact-mid", "compact-wide", "small", "paper")


@dataclass(frozen=True)
class TrainConfig(Config):
    """Training recipe: rate–distortion loss on random crops (paper: batch 8, patch 256, Adam 1e-4,
    ×0.1 at 90 % of the steps, λ = 0.01 in the paper's form ``MSE_255 + λ·bits``)."""

    lmbda: float = field(default=0.01, metadata={"help": "rate-distortion trade-off λ"})
    loss_form: Literal["paper", "compressai"] = field(
        default="paper",
        metadata={"help": "paper: MSE_[0,255] + λ·bits per image; compressai: bpp + λ·255²·MSE_[0,1]"})
    steps: int = field(default=2000, metadata={"help": "optimisation steps"})
    batch_size: int = field(default=8, metadata={"help": "crops per step"})
    patch_size: int = field(default=256, metadata={"help": "side of the random square crops"})
    lr: float = field(default=1e-4, metadata={"help": "Adam learning rate"})
    lr_drop_at: float = field(default=0.9, metadata={"help": "fraction of the steps after which lr ×0.1"})
    grad_clip_norm: float | None = field(default=1.0, metadata={"help": "gradient clipping (none to disable)"})
    seed: int = field(default=0, metadata={"help": "seed of the initialisation and the crops"})
    checkpoint_every: int = field(default=500, metadata={"help": "steps between checkpoints (0: none)"})

    def validate(self) -> None:
        check(self.lmbda > 0, "lmbda must be positive, got {}", self.lmbda)
        check(self.steps >= 1, "steps must be >= 1")
        check(self.batch_size >= 1, "batch_size must be >= 1")
        check(self.patch_size >= 64 and self.patch_size % 64 == 0, "patch_size must be a multiple of 64, got {}",
              self.patch_size)
        check(self.lr > 0, "lr must be positive")
        check(0 < self.lr_drop_at <= 1, "lr_drop_at must be in (0, 1]")
        check(self.checkpoint_every >= 0, "checkpoint_every must be >= 0")


def compressai_lambda(lmbda: float, height: int, width: int) -> float:
    """The CompressAI-form λ_c (loss ``bpp + λ_c·255²·MSE_[0,1]``) equivalent to the paper's λ
    (loss ``MSE_[0,255] + λ·bits``) on ``height × width`` images: λ_c = 1/(λ·H·W)."""
    check(lmbda > 0 and height > 0 and width > 0, "lmbda, height and width must be positive")
    return 1.0 / (lmbda * height * width)
