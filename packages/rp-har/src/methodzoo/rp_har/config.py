"""Configurations of rp-har (Zhu, Rahman & Alam, arXiv 2307.00883, on Lu & Tong's modified RP).

Two frozen dataclasses, each the single list of its defaults (the CLI flags are made from them):

* :class:`EncodingConfig` — how a window of sensor data becomes an image: the temporal channel
  (plain / modified recurrence plot, GAF or MTF), the frequency-domain angle channel, their
  combination, normalisation and resizing.
* :class:`TrainConfig` — the classifier (backbone), optimisation, mixup, augmentation and the
  validation split used for model selection.

The rp-har paper's exact formula is not public; every uncertain choice is a field here, and the
README says which reading is the default and why.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Literal

from methodzoo.shared.config import Config, check

Encoding = Literal["recurrence", "gaf", "mtf"]
TrendWeight = Literal["none", "state_angle_exp", "diff_angle_sign", "diff_angle_exp"]
Frequency = Literal["none", "fft_angle"]
FrequencyBins = Literal["positive", "full"]
FrequencyMap = Literal["theta", "cos", "sign"]
Combine = Literal["channel", "multiply"]
GafMethod = Literal["summation", "difference"]
Normalize = Literal["minmax", "lu_tong", "maxabs", "none"]
Interpolation = Literal["bilinear", "bicubic", "nearest"]
Precision = Literal["float32", "float64"]

Backbone = Literal["efficientnet-lite0", "resnet18", "small-cnn", "raw1d"]
Optimizer = Literal["sgd", "adam"]
Augment = Literal["auto", "none", "flip_crop"]
SplitKind = Literal["auto", "stratified", "subject"]


class DegenerateFrequencyWarning(UserWarning):
    """The FFT-angle channel was asked for on windows whose phases can only be 0 or π."""


@dataclass(frozen=True)
class EncodingConfig(Config):
    """Series ``(N, C, T)`` → images ``(N, K, H, W)`` in [0, 1] (see :func:`~methodzoo.rp_har.encode`).

    Phase-space states ``s_i = (x_i, x_{i+τ}, …, x_{i+(m−1)τ})``, ``i = 0 … T − (m−1)τ − 1``.
    The default is the paper's full image: the signed modified RP per axis (Lu & Tong's paper
    description) plus the FFT angular-difference image per axis as extra channels.
    """

    encoding: Encoding = field(default="recurrence", metadata={
        "help": "temporal image: recurrence (plain or modified RP), gaf or mtf"})
    dimension: int = field(default=2, metadata={"help": "embedding dimension m (Lu & Tong: 2)"})
    time_delay: int = field(default=1, metadata={"help": "time delay τ (Lu & Tong: 1)"})
    trend_weight: TrendWeight = field(default="diff_angle_sign", metadata={
        "help": "none (plain RP ‖s_i − s_j‖), state_angle_exp (Lu & Tong's code: "
                "exp(a(b − cos∠(s_i, e1)))·‖s_i − s_j‖), diff_angle_sign (their paper's text: sign of "
                "⟨s_i − s_j, 1/√m⟩ times the distance), diff_angle_exp (the code's weight on the "
                "difference angle)"})
    weight_scale: float = field(default=5.0, metadata={"help": "a in exp(a(b − cos)) (Lu & Tong: 5)"})
    weight_offset: float = field(default=1.1, metadata={"help": "b in exp(a(b − cos)) (Lu & Tong: 1.1)"})
    frequency: Frequency = field(default="fft_angle", metadata={
        "help": "frequency channel: none, or fft_angle (angle between the wrapped FFT-phase "
                "difference of two windows and the base vector 1/√K)"})
    fft_span: int = field(default=16, metadata={
        "help": "FFT window length centred on each state (0: the state s_i itself, the literal "
                "reading, degenerate for m < 3)"})
    fft_bins: FrequencyBins = field(default="positive", metadata={
        "help": "positive: rfft bins 1..⌈L/2⌉−1 (no DC, no Nyquist); full: every FFT bin (literal "
                "reading; conjugate bins cancel in the projection on 1/√K)"})
    frequency_map: FrequencyMap = field(default="theta", metadata={
        "help": "the angle image: theta (θ/π in [0, 1]), cos (cos θ) or sign (sign of cos θ, the "
                "quadrant)"})
    combine: Combine = field(default="channel", metadata={
        "help": "channel: angle images as extra channels; multiply: temporal ⊙ g(θ)"})
    gaf_method: GafMethod = field(default="summation", metadata={"help": "GAF: summation or difference"})
    mtf_bins: int = field(default=8, metadata={"help": "MTF: number of quantile bins"})
    normalize: Normalize = field(default="minmax", metadata={
        "help": "per image and channel: minmax to [0, 1], lu_tong (÷ (max − min non-zero) of |R|), "
                "maxabs (÷ max |R|), none"})
    image_size: int | None = field(default=224, metadata={
        "help": "square output size (none: keep the plot's own size)"})
    interpolation: Interpolation = field(default="bilinear", metadata={
        "help": "resizing; bilinear keeps RP geometry, nearest blocks it"})
    antialias: bool = field(default=True, metadata={"help": "antialias when shrinking (bilinear/bicubic)"})
    precision: Precision = field(default="float32", metadata={
        "help": "arithmetic of the encoders (the images are float32 either way)"})

    def validate(self) -> None:
        check(self.dimension >= 1, "dimension must be >= 1, got {}", self.dimension)
        check(self.time_delay >= 1, "time_delay must be >= 1, got {}", self.time_delay)
        check(self.fft_span == 0 or self.fft_span >= 3,
              "fft_span must be 0 (use the states) or >= 3, got {}", self.fft_span)
        check(2 <= self.mtf_bins <= 256, "mtf_bins must be in 2..256, got {}", self.mtf_bins)
        check(self.image_size is None or self.image_size >= 1,
              "image_size must be positive or none, got {}", self.image_size)
        check(self.weight_scale >= 0, "weight_scale must be >= 0, got {}", self.weight_scale)
        check(self.encoding == "recurrence" or self.frequency == "none",
              "the fft_angle channel is built on recurrence states; use frequency='none' with {}",
              self.encoding)
        if self.uses_frequency and self.fft_span == 0 and self.dimension < 3:
            warnings.warn(
                f"fft_span=0 takes the FFT of each state of length m={self.dimension}: its bins are "
                "real (DC, Nyquist), every phase is 0 or π and the angle image carries almost no "
                "information; use dimension >= 3 or fft_span >= 3",
                DegenerateFrequencyWarning, stacklevel=3)

    @property
    def uses_frequency(self) -> bool:
        return self.encoding == "recurrence" and self.frequency != "none"

    @property
    def signed(self) -> bool:
        """Whether the images encode a trend direction (a sign, or the direction of s_i − s_j)
        that flips and crops would scramble: these get no flip/crop augmentation by default.
        Plain RP, Lu & Tong's coded varRP, GASF and MTF are unsigned (Lu & Tong flipped them)."""
        if self.encoding == "gaf":
            return self.gaf_method == "difference"
        if self.encoding == "mtf":
            return False
        directional = self.trend_weight in ("diff_angle_sign", "diff_angle_exp")
        return directional or (self.uses_frequency and self.frequency_map != "theta")

    def out_channels(self, in_channels: int) -> int:
        """Image channels K for ``in_channels`` series channels."""
        extra = in_channels if self.uses_frequency and self.combine == "channel" else 0
        return in_channels + extra

    # ----- presets (the benchmark's ablation arms) ---------------------------------------------
    @classmethod
    def plain_rp(cls, **changes: object) -> EncodingConfig:
        """Unthresholded recurrence plot ‖s_i − s_j‖ per axis."""
        return cls(trend_weight="none", frequency="none", **changes)  # type: ignore[arg-type]

    @classmethod
    def lu_tong_code(cls, **changes: object) -> EncodingConfig:
        """Lu & Tong's varRP as released: exp(5(1.1 − cos∠(s_i, e1)))·‖s_i − s_j‖, m = 2, τ = 1,
        ÷ (max − min non-zero)."""
        return cls(trend_weight="state_angle_exp", frequency="none", normalize="lu_tong",
                   **changes)  # type: ignore[arg-type]

    @classmethod
    def modified_rp(cls, **changes: object) -> EncodingConfig:
        """The signed modified RP (Lu & Tong's description), no frequency channel."""
        return cls(trend_weight="diff_angle_sign", frequency="none", **changes)  # type: ignore[arg-type]

    @classmethod
    def modified_rp_fft(cls, **changes: object) -> EncodingConfig:
        """rp-har's image: signed modified RP + FFT angular-difference channel (the default)."""
        return cls(**changes)  # type: ignore[arg-type]

    @classmethod
    def gaf(cls, **changes: object) -> EncodingConfig:
        """Gramian angular (summation) field per axis, as pyts's default."""
        return cls(encoding="gaf", frequency="none", **changes)  # type: ignore[arg-type]

    @classmethod
    def mtf(cls, **changes: object) -> EncodingConfig:
        """Markov transition field per axis, 8 quantile bins, as pyts's default."""
        return cls(encoding="mtf", frequency="none", **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TrainConfig(Config):
    """The classifier on the images (or, for ``raw1d``, on the series) and its training.

    Defaults follow the recipe of Lu & Tong (rp-har gives none): SGD lr 1e-3, momentum 0.9,
    StepLR(7, 0.1), batch 2, 100 epochs, with a pretrained CNN (EfficientNet-Lite0 stands in for
    the ImageNet ResNet, whose weights are not available offline). Model selection uses a
    validation split cut from the training data, never the test split.
    """

    backbone: Backbone = field(default="efficientnet-lite0", metadata={
        "help": "efficientnet-lite0 (ImageNet weights), resnet18 (random or --weights-path), "
                "small-cnn, or raw1d (a 1-D CNN on the series: the no-image baseline)"})
    pretrained: bool = field(default=True, metadata={
        "help": "efficientnet-lite0: start from the offline ImageNet weights"})
    weights_path: str | None = field(default=None, metadata={
        "help": "resnet18: a state_dict (.safetensors, or .pt/.pth read with weights_only) to start from"})
    width: int = field(default=32, metadata={"help": "small-cnn / raw1d base width"})
    dropout: float = field(default=0.2, metadata={"help": "dropout before the classifier layer"})
    epochs: int = field(default=100, metadata={"help": "training epochs (Lu & Tong: 100)"})
    batch_size: int = field(default=2, metadata={"help": "batch size (Lu & Tong: 2)"})
    optimizer: Optimizer = field(default="sgd", metadata={"help": "sgd (momentum) or adam"})
    lr: float = field(default=1e-3, metadata={"help": "learning rate"})
    momentum: float = field(default=0.9, metadata={"help": "SGD momentum"})
    weight_decay: float = field(default=0.0, metadata={"help": "weight decay"})
    lr_step: int = field(default=7, metadata={"help": "StepLR period in epochs (0: constant lr)"})
    lr_gamma: float = field(default=0.1, metadata={"help": "StepLR factor"})
    mixup_alpha: float = field(default=0.4, metadata={
        "help": "mixup in image space, λ ~ Beta(α, α) (0: off; paper value unknown, 0.4 as tsai)"})
    mixup_max: bool = field(default=False, metadata={"help": "λ ← max(λ, 1 − λ) (tsai's variant)"})
    augment: Augment = field(default="auto", metadata={
        "help": "flip_crop (Lu & Tong's random resized crop + horizontal flip), none, or auto: "
                "flip_crop for unsigned images, none for signed ones"})
    val_fraction: float = field(default=0.2, metadata={"help": "share of the training data held out for model selection"})
    split: SplitKind = field(default="auto", metadata={
        "help": "validation split: subject (whole subjects held out), stratified, or auto "
                "(subject when subject ids exist)"})
    seed: int = field(default=0, metadata={"help": "seed of initialisation, batches, mixup and the split"})

    def validate(self) -> None:
        check(self.width >= 4, "width must be >= 4, got {}", self.width)
        check(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1), got {}", self.dropout)
        check(self.epochs >= 1, "epochs must be >= 1, got {}", self.epochs)
        check(self.batch_size >= 1, "batch_size must be >= 1, got {}", self.batch_size)
        check(self.lr > 0, "lr must be positive, got {}", self.lr)
        check(0.0 <= self.momentum < 1.0, "momentum must be in [0, 1), got {}", self.momentum)
        check(self.weight_decay >= 0, "weight_decay must be >= 0, got {}", self.weight_decay)
        check(self.lr_step >= 0, "lr_step must be >= 0, got {}", self.lr_step)
        check(0.0 < self.lr_gamma <= 1.0, "lr_gamma must be in (0, 1], got {}", self.lr_gamma)
        check(self.mixup_alpha >= 0, "mixup_alpha must be >= 0, got {}", self.mixup_alpha)
        check(0.0 < self.val_fraction < 1.0, "val_fraction must be in (0, 1), got {}", self.val_fraction)
        check(self.seed >= 0, "seed must be >= 0, got {}", self.seed)
        check(self.weights_path is None or self.backbone == "resnet18",
              "weights_path is for the resnet18 backbone, not {}", self.backbone)

    @property
    def uses_images(self) -> bool:
        return self.backbone != "raw1d"

    def augmentation_for(self, encoding: EncodingConfig) -> Literal["none", "flip_crop"]:
        """The augmentation in force: ``auto`` keeps flips and crops away from signed images."""
        if self.augment != "auto":
            return self.augment
        return "none" if encoding.signed or not self.uses_images else "flip_crop"
