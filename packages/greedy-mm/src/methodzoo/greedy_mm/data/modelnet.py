"""ModelNet40 as two views of the MVCNN shaded renders (the paper's main task; views 0 and 6).

Standard layout (``modelnet40_images_new_12x``, 12 views per object, 224×224 PNG)::

    <root>/<class>/train/<class>_0001.obj.shaded_v001.png ... _v012.png
    <root>/<class>/test/<class>_0627.obj.shaded_v001.png ...

Classes are the sub-folders of ``root`` in sorted order (the 40 ModelNet40 names). Images are
read lazily, as RGB in [0, 1] with ImageNet normalisation; ``flip=True`` (training) flips each
view horizontally with probability 1/2, independently, as the released code does.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from methodzoo.greedy_mm.data.paired import TwoModalityData, split_off
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
_VIEW_FILE = re.compile(r"^(?P<object>.+)\.obj\.shaded_v(?P<view>\d{3})\.png$")
LAYOUT = "<root>/<class>/<train|test>/<class>_<NNNN>.obj.shaded_v<VVV>.png (MVCNN 12-view shaded renders)"


class ModelNetTwoViews(Dataset):
    """Objects of one split as ``(view_a, view_b, label)``, each view ``(3, H, W)`` float32."""

    def __init__(self, root: str | Path, split: str = "train", views: tuple[int, int] = (0, 6), *,
                 flip: bool = False, image_size: int | None = None) -> None:
        if split not in ("train", "test"):
            raise ConfigError(f"split must be 'train' or 'test', got {split!r}")
        if len(views) != 2 or views[0] == views[1] or min(views) < 0:
            raise ConfigError(f"views must be two distinct non-negative indices, got {views}")
        self.root, self.split, self.views, self.flip, self.image_size = Path(root), split, tuple(views), flip, image_size
        if not self.root.is_dir():
            raise DataNotFoundError(f"ModelNet40 renders not found: {self.root} is not a folder; expected {LAYOUT}")
        self.class_names = tuple(sorted(p.name for p in self.root.iterdir() if (p / split).is_dir()))
        if not self.class_names:
            raise DataNotFoundError(f"no class folder with a {split!r} sub-folder in {self.root}; expected {LAYOUT}")
        self.samples: list[tuple[Path, Path, int]] = []
        for label, name in enumerate(self.class_names):
            self.samples += self._objects(self.root / name / split, label)
        if not self.samples:
            raise DataNotFoundError(f"no *.obj.shaded_vVVV.png renders under {self.root}/*/{split}; expected {LAYOUT}")

    def _objects(self, folder: Path, label: int) -> list[tuple[Path, Path, int]]:
        found: dict[str, dict[int, Path]] = {}
        for path in sorted(folder.glob("*.png")):
            match = _VIEW_FILE.match(path.name)
            if match:
                found.setdefault(match["object"], {})[int(match["view"]) - 1] = path
        samples = []
        for name, by_view in sorted(found.items()):
            missing = [v for v in self.views if v not in by_view]
            if missing:
                raise UserError(f"{folder}/{name}: no render for view(s) {missing} "
                                f"(file {name}.obj.shaded_v{missing[0] + 1:03d}.png)")
            samples.append((by_view[self.views[0]], by_view[self.views[1]], label))
        return samples

    def __len__(self) -> int:
        return len(self.samples)

    def _image(self, path: Path) -> torch.Tensor:
        try:
            with Image.open(path) as picture:
                picture = picture.convert("RGB")
                if self.image_size is not None:
                    picture = picture.resize((self.image_size, self.image_size), Image.Resampling.BILINEAR)
                array = np.asarray(picture, dtype=np.float32) / 255.0
        except OSError as error:
            raise UserError(f"cannot read render {path}: {error}") from None
        image = torch.from_numpy(array).permute(2, 0, 1)  # (H, W, 3) → (3, H, W)
        if self.flip and bool(torch.rand(()) < 0.5):
            image = image.flip(-1)
        return (image - IMAGENET_MEAN) / IMAGENET_STD

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        first, second, label = self.samples[index]
        return self._image(first), self._image(second), torch.tensor(label)


def modelnet40_two_views(root: str | Path, views: tuple[int, int] = (0, 6), *, validation_fraction: float = 0.0,
                         image_size: int | None = None, seed: int = 0) -> TwoModalityData:
    """Training (flipped) and test sets of two views; with ``validation_fraction > 0`` (released
    run: 0.2) a random part of the training objects becomes the "validation" evaluation set."""
    train = ModelNetTwoViews(root, "train", views, flip=True, image_size=image_size)
    test = ModelNetTwoViews(root, "test", views, image_size=image_size)
    if test.class_names != train.class_names:
        raise UserError(f"train and test classes differ under {root}: {train.class_names} vs {test.class_names}")
    evaluation: dict[str, Dataset] = {"test": test}
    kept: Dataset = train
    if validation_fraction > 0:
        kept, _ = split_off(train, validation_fraction, seed)
        # the same held-out objects, read without the training flips
        _, held = split_off(ModelNetTwoViews(root, "train", views, image_size=image_size), validation_fraction, seed)
        evaluation = {"test": test, "validation": held}
    return TwoModalityData(name="modelnet40", train=kept, evaluation=evaluation, class_names=train.class_names,
                           modality_names=(f"view {views[0]}", f"view {views[1]}"),
                           details={"root": str(root), "views": list(views), "train_size": len(kept),  # type: ignore[arg-type]
                                    "test_size": len(test)})
