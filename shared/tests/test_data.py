import pickle

import numpy as np
import pytest
import torch

from methodzoo.shared.data import (
    DATASETS,
    load_cifar,
    load_dataset,
    load_image_folder,
    load_mnist,
    mnist_digits,
    offline_photos,
    read_idx,
    sklearn_digits,
)
from methodzoo.shared.errors import DataNotFoundError, UserError
from methodzoo.shared.testing import write_cifar_batches, write_idx, write_png_folder


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("variant,folder", [("mnist", "mnist"), ("fashion-mnist", "fashion-mnist")])
def test_idx_files_round_trip(tmp_path, suffix, variant, folder):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=5).astype(np.uint8)
    write_idx(tmp_path / folder / f"t10k-images-idx3-ubyte{suffix}", images)
    write_idx(tmp_path / folder / f"t10k-labels-idx1-ubyte{suffix}", labels)
    data = load_mnist(tmp_path, split="test", variant=variant)
    assert torch.equal(data.images, torch.from_numpy(images))
    assert torch.equal(data.labels, torch.from_numpy(labels.astype(np.int64)))
    assert data.as_float().shape == (5, 1, 28, 28)


def test_idx_reader_rejects_bad_files(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x00\x01\x02")
    with pytest.raises(UserError, match="not an idx file"):
        read_idx(tmp_path / "bad")
    path = write_idx(tmp_path / "short", np.zeros((3, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(UserError, match="expected 12 data bytes"):
        read_idx(path)


def test_missing_mnist_names_the_expected_files(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"train-images-idx3-ubyte\[\.gz\].*" + str(tmp_path)):
        load_mnist(tmp_path)


def test_environment_variable_sets_the_root(tmp_path, monkeypatch):
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    monkeypatch.setenv("METHODZOO_DATA", str(tmp_path))
    assert len(load_dataset("mnist", split="train")) == 2


def _cifar_arrays(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 3, 32, 32), dtype=np.uint8), rng.integers(0, 10, size=n)


def test_cifar10_python_batches_round_trip(tmp_path):
    batches = [(f"data_batch_{i}", *_cifar_arrays(3, i)) for i in range(1, 6)]
    batches.append(("test_batch", *_cifar_arrays(2, 9)))
    write_cifar_batches(tmp_path / "cifar-10-batches-py", batches)
    train = load_cifar(tmp_path, split="train")
    assert train.images.shape == (15, 3, 32, 32)
    assert torch.equal(train.images[:3], torch.from_numpy(batches[0][1]))
    assert train.labels.tolist()[:3] == list(batches[0][2])
    test = load_cifar(tmp_path, split="test")
    assert torch.equal(test.images, torch.from_numpy(batches[-1][1]))


def test_cifar100_uses_fine_labels(tmp_path):
    images, labels = _cifar_arrays(4, 1)
    write_cifar_batches(tmp_path / "cifar-100-python", [("test", images, labels * 7)], label_key="fine_labels")
    data = load_cifar(tmp_path, split="test", variant="cifar100")
    assert data.labels.tolist() == list(labels * 7)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_cifar_loader_never_executes_pickled_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with open(folder / "test_batch", "wb") as handle:
        pickle.dump({b"data": _Evil(), b"labels": [1]}, handle)
    with pytest.raises(UserError, match="refusing to load builtins.print"):
        load_cifar(tmp_path, split="test")


def test_missing_cifar_names_files_and_folder(tmp_path):
    with pytest.raises(DataNotFoundError, match="data_batch_1.*cifar-10-batches-py"):
        load_cifar(tmp_path)


def test_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8) for _ in range(3)]
    write_png_folder(tmp_path / "kodak", images)
    (tmp_path / "kodak" / "notes.txt").write_text("not an image")
    loaded = load_image_folder(tmp_path / "kodak")
    assert [item.name for item in loaded] == ["image-00", "image-01", "image-02"]
    for item, original in zip(loaded, images, strict=True):
        assert np.array_equal(item.image, original)
    (tmp_path / "kodak" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(UserError, match="cannot read"):
        load_image_folder(tmp_path / "kodak")
    with pytest.raises(DataNotFoundError, match="no images"):
        load_image_folder(tmp_path / "empty_dir" if (tmp_path / "empty_dir").mkdir() is None else tmp_path)


def test_offline_defaults_are_real_data():
    digits = mnist_digits()
    assert digits.images.shape == (5000, 28, 28) and digits.images.dtype == torch.uint8
    assert torch.bincount(digits.labels).tolist() == [500] * 10
    assert sklearn_digits().images.shape == (1797, 8, 8)
    photos = offline_photos(["astronaut", "camera", "china", "grace_hopper"])
    assert [p.image.shape[2] for p in photos] == [3, 3, 3, 3]
    assert all(p.image.dtype == np.uint8 and min(p.image.shape[:2]) >= 300 for p in photos)
    with pytest.raises(UserError, match="unknown photo"):
        offline_photos(["kodim01"])


def test_registry_lists_offline_sets():
    assert {"mnist", "cifar10", "mnist-digits", "photos"} <= set(DATASETS.names())
    assert DATASETS.get("mnist-digits").offline and not DATASETS.get("cifar10").offline
