"""methodzoo-rp-har: wearable activity recognition from modified recurrence-plot images with a
frequency-domain angle channel (Zhu, Rahman & Alam, "Augmenting Deep Learning Adaptation for
Wearable Sensor Data through Combined Temporal-Frequency Image Encoding", arXiv 2307.00883),
on Lu & Tong's modified recurrence plot (IEEE Sensors J. 2019).

Windows of sensor data become images (a plain or trend-signed recurrence plot per axis, plus
an FFT phase-difference angle image per axis), classified by a CNN trained with mixup::

    from methodzoo.rp_har import EncodingConfig, TrainConfig, encode, evaluate, fit, load_series
    images = encode(windows, EncodingConfig(image_size=64))           # (N, 6, 64, 64) in [0, 1]
    run = fit(load_series("trend-pairs"), TrainConfig(backbone="small-cnn"), EncodingConfig(image_size=32))
    print(evaluate(run.classifier, load_series("trend-pairs", "test"))["accuracy"])
"""

from methodzoo.rp_har.augment import random_resized_crop_flip
from methodzoo.rp_har.config import DegenerateFrequencyWarning, EncodingConfig, TrainConfig
from methodzoo.rp_har.containers import LabeledSeries, select_channels
from methodzoo.rp_har.data import DATASETS, load_series, validation_split
from methodzoo.rp_har.encoder import ImageEncoder, encode
from methodzoo.rp_har.fields import gramian_angular_field, markov_transition_field
from methodzoo.rp_har.frequency import fft_angle, wrap_phase
from methodzoo.rp_har.grid import save_encoding_grid
from methodzoo.rp_har.images import normalize_images, resize_images, to_uint8
from methodzoo.rp_har.mixup import mixup, sample_mixup_lambda
from methodzoo.rp_har.networks import RawCNN1d, SmallCNN, build_network
from methodzoo.rp_har.recurrence import modified_recurrence_plot, recurrence_plot
from methodzoo.rp_har.synthetic import PAIRS, ActivityPair, direction_accuracy, trend_mirrored
from methodzoo.rp_har.training import FitResult, RPHarClassifier, evaluate, fit

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # configuration
    "DegenerateFrequencyWarning",
    "EncodingConfig",
    "TrainConfig",
    # encoders
    "ImageEncoder",
    "encode",
    "fft_angle",
    "gramian_angular_field",
    "markov_transition_field",
    "modified_recurrence_plot",
    "normalize_images",
    "recurrence_plot",
    "resize_images",
    "save_encoding_grid",
    "to_uint8",
    "wrap_phase",
    # data
    "DATASETS",
    "PAIRS",
    "ActivityPair",
    "LabeledSeries",
    "direction_accuracy",
    "load_series",
    "select_channels",
    "trend_mirrored",
    "validation_split",
    # training
    "FitResult",
    "RPHarClassifier",
    "RawCNN1d",
    "SmallCNN",
    "build_network",
    "evaluate",
    "fit",
    "mixup",
    "random_resized_crop_flip",
    "sample_mixup_lambda",
]
