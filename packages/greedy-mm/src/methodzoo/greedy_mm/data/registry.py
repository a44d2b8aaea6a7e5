"""One record per two-modality data set: how to build it from a :class:`DataConfig`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from methodzoo.greedy_mm.config import DataConfig
from methodzoo.greedy_mm.data.paired import TwoModalityData
from methodzoo.shared.errors import ConfigError
from methodzoo.shared.registry import Registry


@dataclass(frozen=True)
class TwoModalitySpec:
    """A data set: ``build(config, seed)``; ``offline`` when it ships with an installed package."""

    build: Callable[[DataConfig, int], TwoModalityData]
    description: str
    offline: bool


def _colored_digits(config: DataConfig, seed: int) -> TwoModalityData:
    from methodzoo.greedy_mm.data.colored_digits import colored_digits

    return colored_digits(config.rho, image_size=config.image_size, test_size=config.test_size,
                          train_size=config.train_size, colour_jitter=config.colour_jitter, seed=seed)


def _basic_motions(config: DataConfig, seed: int) -> TwoModalityData:
    from methodzoo.greedy_mm.data.basic_motions import basic_motions_pair

    return basic_motions_pair()


def _root(config: DataConfig) -> str:
    if config.root is None:
        raise ConfigError(f"{config.dataset} is read from a local folder: pass --root DIR")
    return config.root


def _modelnet40(config: DataConfig, seed: int) -> TwoModalityData:
    from methodzoo.greedy_mm.data.modelnet import modelnet40_two_views

    return modelnet40_two_views(_root(config), (config.views[0], config.views[1]),
                                validation_fraction=config.validation_fraction, seed=seed)


def _nvgesture(config: DataConfig, seed: int) -> TwoModalityData:
    from methodzoo.greedy_mm.data.nvgesture import nvgesture_pair

    return nvgesture_pair(_root(config), (config.modalities[0], config.modalities[1]), frames=config.frames,
                          frame_size=config.frame_size, validation_fraction=config.validation_fraction, seed=seed)


TWO_MODALITY_DATASETS: Registry[TwoModalitySpec] = Registry("two-modality data set")
TWO_MODALITY_DATASETS.register("colored-digits", TwoModalitySpec(
    _colored_digits, "grey vs coloured real MNIST digits, colour correlated with the label in training", True))
TWO_MODALITY_DATASETS.register("basic-motions", TwoModalitySpec(
    _basic_motions, "BasicMotions accelerometer vs gyroscope (aeon)", True))
TWO_MODALITY_DATASETS.register("modelnet40", TwoModalitySpec(
    _modelnet40, "ModelNet40 MVCNN renders, two views, from --root", False))
TWO_MODALITY_DATASETS.register("nvgesture", TwoModalitySpec(
    _nvgesture, "NVGesture, two sensor streams, from --root", False))


def load_two_modality(config: DataConfig, seed: int = 0) -> TwoModalityData:
    """The data set ``config.dataset`` names, built with ``config``'s knobs."""
    return TWO_MODALITY_DATASETS.get(config.dataset).build(config, seed)
