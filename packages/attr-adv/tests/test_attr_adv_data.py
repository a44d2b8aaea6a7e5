"""Data: the digits split, the shift grids, the CIFAR-10-C loader, corruption severities."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
import torch

from methodzoo.attr_adv.cifar10c import available_corruptions, load_cifar10c
from methodzoo.attr_adv.data import digits_split
from methodzoo.attr_adv.evaluation import (
    GRID_VALUES,
    GridResult,
    ShiftPoint,
    shift_grid,
    shifted_images,
)
from methodzoo.attr_adv.space import AttributeSpace
from methodzoo.attr_adv.transforms import NEUTRAL
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError


@pytest.fixture(scope="module")
def split():  # type: ignore[no-untyped-def]
    return digits_split(train_size=1000, test_size=500, seed=3)


def test_digits_split_is_shuffled_disjoint_and_reproducible(split) -> None:
    assert split.train_images.shape == (1000, 1, 28, 28) and split.test_images.shape == (500, 1, 28, 28)
    assert float(split.train_images.min()) >= 0 and float(split.train_images.max()) <= 1
    counts = torch.bincount(split.train_labels, minlength=10)
    assert counts.min() > 60 and counts.max() < 140  # ~100 a class: shuffled before the split
    assert len(set(split.train_labels[:50].tolist())) >= 8  # not one class at a time
    train_rows = {bytes(row.numpy()) for row in (split.train_images * 255).round().to(torch.uint8).flatten(1)}
    test_rows = {bytes(row.numpy()) for row in (split.test_images * 255).round().to(torch.uint8).flatten(1)}
    assert len(train_rows & test_rows) <= 2  # MNIST has a few exact duplicates, not shared indices
    again = digits_split(train_size=1000, test_size=500, seed=3)
    assert torch.equal(again.train_labels, split.train_labels)
    with pytest.raises(ConfigError, match="<= 5000"):
        digits_split(train_size=4900, test_size=500)


def test_grid_marks_points_beyond_the_training_range_as_held_out() -> None:
    grid = shift_grid("digits-rts", AttributeSpace.digits_rts())
    held = {(p.attribute, p.value) for p in grid if p.held_out}
    assert ("rotation", 45.0) in held and ("rotation", -60.0) in held and ("rotation", 30.0) not in held
    assert ("translate_x", 3.0) in held and ("translate_x", 2.0) not in held
    assert ("scale", 0.7) in held and ("scale", 0.9) not in held
    assert len(grid) == sum(len(v) for v in GRID_VALUES["digits-rts"].values())
    with pytest.raises(UserError, match="valid: digits-rts"):
        shift_grid("imagenet-c", AttributeSpace.digits_rts())


def test_grid_result_summaries() -> None:
    points = [ShiftPoint("rotation", -45.0, True), ShiftPoint("rotation", 45.0, True),
              ShiftPoint("rotation", 15.0, False), ShiftPoint("scale", 0.7, True)]
    result = GridResult(clean=0.9, points=points, accuracies=[0.5, 0.7, 0.8, 0.3])
    assert result.shift == pytest.approx(0.5) and result.in_range == pytest.approx(0.8)
    assert result.worst == 0.3
    curves = result.by_magnitude()
    assert curves["rotation"] == [(0.0, 0.9, False), (15.0, 0.8, False), (45.0, pytest.approx(0.6), True)]
    assert curves["scale"][1][0] == pytest.approx(0.3)


@pytest.mark.parametrize("grid_name", ["digits-rts", "digits-c"])
def test_shift_severity_grows_with_the_attribute(split, grid_name) -> None:
    """Distortion ‖G(x, a) − x‖ grows monotonically with each attribute's magnitude."""
    x = split.test_images[:64]
    curves: dict[tuple[str, bool], list[tuple[float, float]]] = {}  # (attribute, direction) → curve
    for point in shift_grid(grid_name, AttributeSpace.preset(grid_name)):
        distortion = float((shifted_images(x, point) - x).abs().mean())
        upward = point.value > NEUTRAL[point.attribute]
        curves.setdefault((point.attribute, upward), []).append((point.magnitude, distortion))
    for key, curve in curves.items():
        ordered = [d for _, d in sorted(curve)]
        assert all(b > a for a, b in pairwise(ordered)), (key, ordered)


MONOTONE_CORRUPTIONS = ("gaussian_noise", "shot_noise", "impulse_noise", "speckle_noise", "defocus_blur",
                        "zoom_blur", "brightness", "contrast", "pixelate", "jpeg_compression")


def test_imagecorruptions_severities_are_monotone_on_digits(split) -> None:
    pytest.importorskip("imagecorruptions")
    from methodzoo.attr_adv.corruptions import corrupt_images

    x = split.test_images[:12]
    for name in MONOTONE_CORRUPTIONS:
        distortion = [float((corrupt_images(x, name, s) - x).abs().mean()) for s in range(1, 6)]
        assert all(b > a for a, b in pairwise(distortion)), (name, distortion)
    corrupted = corrupt_images(x, "gaussian_noise", 3, seed=5)
    assert corrupted.shape == x.shape and torch.equal(corrupted, corrupt_images(x, "gaussian_noise", 3, seed=5))


def test_broken_corruptions_are_refused_with_the_reason() -> None:
    pytest.importorskip("imagecorruptions")
    from methodzoo.attr_adv.corruptions import corrupt_images, corruption_names

    assert "glass_blur" not in corruption_names("common") and "fog" not in corruption_names("all")
    with pytest.raises(ConfigError, match="scikit-image"):
        corrupt_images(torch.zeros(1, 1, 28, 28), "glass_blur", 1)
    with pytest.raises(ConfigError, match="unknown corruption"):
        corrupt_images(torch.zeros(1, 1, 28, 28), "rain", 1)


def _write_cifar10c(folder, rows_per_severity: int = 4) -> None:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True)
    n = 5 * rows_per_severity
    images = np.zeros((n, 32, 32, 3), dtype=np.uint8)
    for row in range(n):
        images[row, :, :, 0] = row // rows_per_severity + 1  # red = severity
        images[row, :, :, 1] = row  # green = row
    np.save(folder / "gaussian_noise.npy", images)
    np.save(folder / "labels.npy", np.tile(np.arange(rows_per_severity) % 10, 5).astype(np.int64))


def test_cifar10c_loader_returns_the_block_of_one_severity(tmp_path) -> None:
    _write_cifar10c(tmp_path / "CIFAR-10-C")
    for severity in (1, 3, 5):
        data = load_cifar10c("gaussian_noise", severity, root=tmp_path)
        assert data.images.shape == (4, 3, 32, 32) and data.images.dtype == torch.uint8
        assert (data.images[:, 0] == severity).all()
        assert data.images[:, 1, 0, 0].tolist() == list(range(4 * (severity - 1), 4 * severity))
        assert data.labels.tolist() == [0, 1, 2, 3]
    assert len(load_cifar10c("gaussian_noise", 2, root=tmp_path / "CIFAR-10-C")) == 4  # the folder itself


def test_cifar10c_loader_errors_name_the_expected_files(tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match=r"labels\.npy.*CIFAR-10-C"):
        load_cifar10c("gaussian_noise", 5, root=tmp_path)
    (tmp_path / "CIFAR-10-C").mkdir()
    np.save(tmp_path / "CIFAR-10-C" / "labels.npy", np.zeros(5, dtype=np.int64))
    with pytest.raises(DataNotFoundError, match=r"no <corruption>\.npy"):
        available_corruptions(tmp_path)
    (tmp_path / "CIFAR-10-C" / "labels.npy").unlink()
    (tmp_path / "CIFAR-10-C").rmdir()
    _write_cifar10c(tmp_path / "CIFAR-10-C")
    assert available_corruptions(tmp_path) == ["gaussian_noise"]
    with pytest.raises(DataNotFoundError, match=r"fog\.npy"):
        load_cifar10c("fog", 5, root=tmp_path)
    with pytest.raises(ConfigError, match="severity"):
        load_cifar10c("gaussian_noise", 6, root=tmp_path)
    with pytest.raises(ConfigError, match="unknown CIFAR-10-C corruption"):
        load_cifar10c("rain", 1, root=tmp_path)
    np.save(tmp_path / "CIFAR-10-C" / "contrast.npy", np.zeros((10, 32, 32), dtype=np.uint8))
    with pytest.raises(UserError, match=r"\(N, 32, 32, 3\)"):
        load_cifar10c("contrast", 1, root=tmp_path)
    np.save(tmp_path / "CIFAR-10-C" / "snow.npy", np.array([{"a": 1}] * 5, dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="not a plain .npy"):
        load_cifar10c("snow", 1, root=tmp_path)
