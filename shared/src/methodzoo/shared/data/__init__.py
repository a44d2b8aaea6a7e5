"""Datasets: loaders for standard on-disk formats and offline defaults, behind one registry.

Loaders read from ``data_root()`` (``$METHODZOO_DATA``, default ``~/.cache/methodzoo/data``) and,
when files are missing, raise :class:`~methodzoo.shared.errors.DataNotFoundError` naming the
files and the folder expected. Offline defaults come from installed packages (no download).
"""

from methodzoo.shared.data.cifar import load_cifar
from methodzoo.shared.data.image_folder import NamedImage, load_image, load_image_folder
from methodzoo.shared.data.mnist import load_mnist, read_idx
from methodzoo.shared.data.offline import mnist_digits, offline_photos, sklearn_digits
from methodzoo.shared.data.registry import DATASETS, DatasetSpec, load_dataset
from methodzoo.shared.data.root import data_root
from methodzoo.shared.data.types import LabeledImages

__all__ = [
    "DATASETS",
    "DatasetSpec",
    "LabeledImages",
    "NamedImage",
    "data_root",
    "load_cifar",
    "load_dataset",
    "load_image",
    "load_image_folder",
    "load_mnist",
    "mnist_digits",
    "offline_photos",
    "read_idx",
    "sklearn_digits",
]
