"""Two-modality data: coloured digits (real MNIST), BasicMotions, and the ModelNet40 / NVGesture
folder layouts written tiny in their standard formats."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from methodzoo.greedy_mm import DataConfig, basic_motions_pair, colored_digits, load_two_modality
from methodzoo.greedy_mm.data import PALETTE
from methodzoo.greedy_mm.data.modelnet import ModelNetTwoViews, modelnet40_two_views
from methodzoo.shared.errors import ConfigError, DataNotFoundError, UserError
from methodzoo.shared.testing import binomial_band


def _colour_index(m0: torch.Tensor, m1: torch.Tensor) -> torch.Tensor:
    """The palette colour each coloured digit was painted with (nearest, from its brightest pixel)."""
    flat0 = m0.flatten(1)
    brightest = flat0.argmax(1)
    rgb = m1.flatten(2)[torch.arange(len(m1)), :, brightest] / flat0[torch.arange(len(m0)), brightest, None]
    return torch.cdist(rgb, PALETTE).argmin(1)


@pytest.fixture(scope="module")
def digits():  # type: ignore[no-untyped-def]
    return colored_digits(rho=0.9, image_size=12, test_size=600, train_size=1500, colour_jitter=0.02, seed=3)


def test_coloured_digits_shapes_and_grey_copy(digits) -> None:  # type: ignore[no-untyped-def]
    train = digits.train
    assert train.m0.shape == (1500, 1, 12, 12) and train.m1.shape == (1500, 3, 12, 12)
    assert train.m0.min() >= 0 and train.m0.max() <= 1
    # m1 is the grey digit times one colour per image
    ratio = train.m1 / train.m0.clamp_min(1e-6)
    mask = (train.m0 > 0.2).expand_as(ratio)
    spread = (ratio.masked_fill(~mask, float("nan")).flatten(2).nanmean(2)[:, :, None]
              - ratio.masked_fill(~mask, float("nan")).flatten(2)).abs()
    assert torch.nanmean(spread) < 1e-4
    assert set(digits.evaluation) == {"test", "control"}
    torch.testing.assert_close(digits.evaluation["test"].m0, digits.evaluation["control"].m0)


def test_colour_agrees_with_the_label_at_rate_rho_in_training_and_control_not_at_test(digits) -> None:  # type: ignore[no-untyped-def]
    p_match = 0.9 + 0.1 / 10  # ρ plus the uniform draws that happen to hit the class colour
    for name, data, p in (("train", digits.train, p_match), ("control", digits.evaluation["control"], p_match),
                          ("test", digits.evaluation["test"], 0.1)):
        agree = int((_colour_index(data.m0, data.m1) == data.labels).sum())
        low, high = binomial_band(len(data), p, confidence=0.999)
        assert low <= agree <= high, (name, agree, low, high)


def test_bad_colour_settings_are_rejected() -> None:
    with pytest.raises(ConfigError):
        colored_digits(rho=1.5)
    with pytest.raises(ConfigError):
        colored_digits(train_size=4900, test_size=200)


def test_basic_motions_accelerometer_against_gyroscope() -> None:
    data = basic_motions_pair()
    assert data.train.m0.shape == (40, 3, 100) and data.evaluation["test"].m1.shape == (40, 3, 100)
    assert data.class_names == ("badminton", "running", "standing", "walking")
    assert data.modality_names == ("accelerometer", "gyroscope")
    # standardised with the training split's statistics
    assert data.train.m0.mean(dim=(0, 2)).abs().max() < 1e-4
    assert load_two_modality(DataConfig(dataset="basic-motions")).train.m1.shape == (40, 3, 100)


def _write_modelnet(root: Path, classes: dict[str, int], split: str, views: int = 12) -> None:
    for name, objects in classes.items():
        folder = root / name / split
        folder.mkdir(parents=True, exist_ok=True)
        for obj in range(objects):
            for view in range(views):
                # pixel value encodes (object, view) so the loader's choice of files can be checked
                value = np.full((6, 6, 3), 10 * view + obj, dtype=np.uint8)
                Image.fromarray(value).save(folder / f"{name}_{obj + 1:04d}.obj.shaded_v{view + 1:03d}.png")


def test_modelnet_two_views_reads_the_standard_layout(tmp_path: Path) -> None:
    _write_modelnet(tmp_path, {"airplane": 2, "bathtub": 1}, "train")
    _write_modelnet(tmp_path, {"airplane": 1, "bathtub": 1}, "test")
    data = modelnet40_two_views(tmp_path, views=(0, 6))
    assert data.class_names == ("airplane", "bathtub") and len(data.train) == 3 and len(data.evaluation["test"]) == 2
    test = data.evaluation["test"]
    a, b, label = test[1]
    assert a.shape == b.shape == (3, 6, 6) and int(label) == 1
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    raw_a = (a[:, 0, 0] * std + mean) * 255
    raw_b = (b[:, 0, 0] * std + mean) * 255
    torch.testing.assert_close(raw_a, torch.full((3,), 0.0), atol=1e-3, rtol=0)  # view 0 of object 1
    torch.testing.assert_close(raw_b, torch.full((3,), 60.0), atol=1e-3, rtol=0)  # view 6
    held = modelnet40_two_views(tmp_path, validation_fraction=0.34, image_size=4)
    assert len(held.train) == 2 and len(held.evaluation["validation"]) == 1
    assert held.evaluation["validation"][0][0].shape == (3, 4, 4)


def test_modelnet_missing_files_name_the_layout(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"shaded_v<VVV>\.png"):
        ModelNetTwoViews(tmp_path / "nowhere")
    (tmp_path / "airplane" / "train").mkdir(parents=True)
    with pytest.raises(DataNotFoundError, match="renders"):
        ModelNetTwoViews(tmp_path)
    _write_modelnet(tmp_path, {"airplane": 1}, "train", views=3)
    with pytest.raises(UserError, match="view"):
        ModelNetTwoViews(tmp_path, views=(0, 6))
    with pytest.raises(ConfigError, match="pass --root"):
        load_two_modality(DataConfig(dataset="modelnet40"))


def _write_nvgesture(root: Path, split: str, recordings: list[tuple[int, int]]) -> None:
    cv2 = pytest.importorskip("cv2")
    lines = []
    for number, (label, frames) in enumerate(recordings):
        folder = root / "Video_data" / f"class_{label:02d}" / f"subject{number}_r0"
        folder.mkdir(parents=True, exist_ok=True)
        for stream in ("sk_color", "sk_depth"):
            writer = cv2.VideoWriter(str(folder / f"{stream}.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (16, 16))
            for frame in range(frames):
                writer.write(np.full((16, 16, 3), 20 * frame, dtype=np.uint8))
            writer.release()
        relative = folder.relative_to(root)
        lines.append(f"path:./{relative} depth:sk_depth:1:{frames - 2} color:sk_color:1:{frames - 2} "
                     f"duo_left:duo_left:0:{frames - 1} label:{label}")
    (root / f"nvgesture_{split}_correct_cvpr2016_v2.lst").write_text("\n".join(lines) + "\n")


def test_nvgesture_reads_the_released_layout(tmp_path: Path) -> None:
    from methodzoo.greedy_mm.data.nvgesture import nvgesture_pair

    _write_nvgesture(tmp_path, "train", [(1, 8), (3, 10)])
    _write_nvgesture(tmp_path, "test", [(2, 8)])
    data = nvgesture_pair(tmp_path, ("color", "depth"), frames=4, frame_size=8)
    color, depth, label = data.train[1]
    assert color.shape == (3, 4, 8, 8) and depth.shape == (1, 4, 8, 8) and int(label) == 2
    # frames 1..8 of the second recording, 4 spread evenly: frames 1, 3, 6, 8 of brightness 20·k
    # (MJPG compression moves pixel values by a few levels)
    expected = torch.tensor([20.0, 60.0, 120.0, 160.0]) / 255
    assert torch.allclose(depth[0, :, 4, 4], expected, atol=0.03)
    assert data.class_names[-1] == "class_03" and data.num_classes == 3


def test_nvgesture_missing_list_or_bad_line_is_clear(tmp_path: Path) -> None:
    from methodzoo.greedy_mm.data.nvgesture import NVGestureClips

    with pytest.raises(DataNotFoundError, match="nvgesture_train_correct_cvpr2016_v2.lst"):
        NVGestureClips(tmp_path)
    (tmp_path / "nvgesture_train_correct_cvpr2016_v2.lst").write_text("path:./x color:sk_color:1:4\n")
    with pytest.raises(UserError, match="not an NVGesture list line"):
        NVGestureClips(tmp_path)
    with pytest.raises(ConfigError, match="streams"):
        NVGestureClips(tmp_path, streams=("color", "color"))


def test_training_runs_on_folder_data(tmp_path: Path) -> None:
    from methodzoo.greedy_mm import BalanceConfig, ModelConfig, TrainConfig, build_network, fit

    _write_modelnet(tmp_path, {"airplane": 2, "bathtub": 2}, "train")
    _write_modelnet(tmp_path, {"airplane": 1, "bathtub": 1}, "test")
    data = modelnet40_two_views(tmp_path)
    model = build_network(ModelConfig(width=2, stages=2, fusion_after=(0, 1)), data.example_inputs(), 2)
    result = fit(model, data, balance=BalanceConfig(method="random", starting_epoch=1),
                 train=TrainConfig(epochs=2, batch_size=2, stop_after_perfect=0), device="cpu")
    assert len(result.history) == 2 and result.last.utilization is not None
    assert len(result.balancer.trace) == 4  # 2 epochs × 2 batches of the 4 training objects
