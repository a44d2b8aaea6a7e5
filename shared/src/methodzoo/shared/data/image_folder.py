"""A folder of images (Kodak, CLIC, Tecnick style): every PNG/JPEG/… file, sorted by name."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from methodzoo.shared.errors import DataNotFoundError, UserError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


class NamedImage(NamedTuple):
    """An RGB image as a uint8 array ``(H, W, 3)`` with its name."""

    name: str
    image: np.ndarray


def load_image(path: str | Path) -> np.ndarray:
    """One image file as RGB uint8 ``(H, W, 3)``; a clear error when it is not an image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"image file {path} does not exist")
    try:
        with Image.open(path) as handle:
            return np.asarray(handle.convert("RGB"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError) as error:
        raise UserError(f"cannot read {path} as an image: {error}") from None


def load_image_folder(folder: str | Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> list[NamedImage]:
    """All images in ``folder`` (not recursive), sorted by file name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in extensions and p.is_file())
    if not files:
        raise DataNotFoundError(f"no images ({', '.join(extensions)}) in {folder}")
    return [NamedImage(p.stem, load_image(p)) for p in files]
