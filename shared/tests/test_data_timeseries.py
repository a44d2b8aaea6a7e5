import numpy as np
import pytest
import torch

from methodzoo.shared.data import (
    DATASETS,
    LabeledSeries,
    MalformedRecordsWarning,
    basic_motions,
    encode_labels,
    load_dataset,
    load_hmp,
    load_uci_har,
    load_wisdm,
    pickup_gesture,
    sliding_windows,
)
from methodzoo.shared.data.hmp import decode_acceleration
from methodzoo.shared.data.timeseries import resample_linear
from methodzoo.shared.data.uci_har import ACTIVITIES, CHANNELS
from methodzoo.shared.errors import ConfigError, DataNotFoundError, MissingExtraError, UserError
from methodzoo.shared.testing import write_hmp, write_uci_har, write_wisdm_raw


def test_labeled_series_subset_keeps_names_and_subjects():
    series = LabeledSeries(torch.arange(24.0).reshape(4, 2, 3), torch.tensor([0, 1, 0, 1]),
                           ("a", "b"), ("x", "y"), torch.tensor([7, 7, 8, 8]))
    part = series.subset(torch.tensor([3, 0]))
    assert len(part) == 2 and part.labels.tolist() == [1, 0] and part.subjects.tolist() == [8, 7]
    assert torch.equal(part.values[0], series.values[3]) and part.class_names == ("a", "b")
    masked = series.subset(series.labels == 1)
    assert masked.subjects.tolist() == [7, 8]


def test_labels_sort_numbers_by_value_and_do_not_depend_on_row_order():
    labels, classes = encode_labels(["10", "2", "1", "2"])
    assert classes == ("1", "2", "10") and labels.tolist() == [2, 1, 0, 1]
    assert encode_labels(["2", "10", "1"])[1] == classes
    with pytest.raises(UserError, match="unknown class"):
        encode_labels(["c"], ("a", "b"))


def test_sliding_windows_take_every_step_and_drop_the_short_tail():
    recording = np.arange(22.0).reshape(11, 2)  # (T, C)
    windows = sliding_windows(recording, window=4, step=3)
    assert windows.shape == (3, 2, 4)  # starts 0, 3, 6; a window at 9 would need T = 13
    assert windows[1, 0].tolist() == recording[3:7, 0].tolist()
    assert sliding_windows(recording[:3], 4, 1).shape == (0, 2, 4)
    with pytest.raises(ConfigError):
        sliding_windows(recording, 0, 1)


def test_basic_motions_offline():
    train, test = basic_motions("train"), basic_motions("test")
    assert train.values.shape == test.values.shape == (40, 6, 100)
    assert train.values.dtype == torch.float32 and train.labels.dtype == torch.int64
    assert train.class_names == ("badminton", "running", "standing", "walking")
    assert train.labels.bincount().tolist() == [10, 10, 10, 10]
    assert train.channel_names[:3] == ("acc_x", "acc_y", "acc_z") and train.subjects is None
    # Standing barely moves the watch; running shakes it: the classes differ in the raw signal.
    spread = train.values[:, :3].std(dim=2).mean(dim=1)
    standing, running = spread[train.labels == 2].mean(), spread[train.labels == 1].mean()
    assert running > 5 * standing


def test_pickup_gesture_resamples_every_gesture_to_one_length():
    train = pickup_gesture("train")
    test = pickup_gesture("test")
    assert train.values.shape == test.values.shape == (50, 1, 361)
    assert train.class_names == tuple(str(i) for i in range(1, 11))
    assert train.labels.bincount().tolist() == [5] * 10
    assert pickup_gesture("train", length=64).values.shape == (50, 1, 64)


def test_linear_resampling_keeps_the_end_points_and_a_line_stays_a_line():
    line = np.linspace(-1.0, 3.0, 29)
    resampled = resample_linear(line, 361)
    assert resampled[0] == -1.0 and resampled[-1] == 3.0
    np.testing.assert_allclose(resampled, np.linspace(-1.0, 3.0, 361), atol=1e-12)


def _har_split(n: int, seed: int):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 9, 128)), rng.integers(1, 7, size=n), rng.integers(1, 31, size=n)


def test_uci_har_round_trip(tmp_path):
    signals, activities, subjects = _har_split(5, 0)
    write_uci_har(tmp_path, "train", signals, activities, subjects)
    line = (tmp_path / "UCI HAR Dataset/train/Inertial Signals/body_acc_x_train.txt").read_text()
    assert line.startswith("  ") or line.startswith(" -")  # the official fixed-width style
    data = load_uci_har(tmp_path, split="train")
    assert data.values.shape == (5, 9, 128) and data.values.dtype == torch.float32
    np.testing.assert_allclose(data.values.numpy(), signals, rtol=1e-6)
    assert data.labels.tolist() == (activities - 1).tolist()
    assert data.subjects.tolist() == subjects.tolist()
    assert data.class_names == ACTIVITIES and data.channel_names == CHANNELS
    assert CHANNELS[3] == "body_gyro_x"  # channel order: body_acc, body_gyro, total_acc


def test_uci_har_missing_split_names_every_file(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        load_uci_har(tmp_path, split="test")
    message = str(error.value)
    assert "UCI HAR Dataset/test/Inertial Signals/total_acc_z_test.txt" in message
    assert "y_test.txt" in message and "subject_test.txt" in message and str(tmp_path) in message


def test_uci_har_rejects_labels_outside_1_to_6(tmp_path):
    signals, _activities, subjects = _har_split(3, 1)
    write_uci_har(tmp_path, "test", signals, [1, 7, 2], subjects)
    with pytest.raises(UserError, match="activities must be 1..6"):
        load_uci_har(tmp_path, split="test")


def _wisdm_rows(user: int, activity: str, count: int, start: float):
    return [(user, activity, 1000 + i, start + i, -float(i), 9.81) for i in range(count)]


def test_wisdm_windows_per_user_and_activity_and_skips_malformed_lines(tmp_path):
    rows = _wisdm_rows(33, "Jogging", 7, 0.0) + _wisdm_rows(33, "Walking", 5, 100.0) + \
        _wisdm_rows(7, "Jogging", 4, 200.0)
    malformed = ["", "11,Walking,1867172313000,4.4,4.4,;", "12,Jogging,1,2.0,3.0,nan;",
                 "12,Flying,1,2.0,3.0,4.0;", "garbage"]
    path = write_wisdm_raw(tmp_path / "WISDM_ar_v1.1" / "WISDM_ar_v1.1_raw.txt", rows,
                           extra_lines=malformed)
    # The real file also has records with a trailing comma or no ';', and two on one line.
    with open(path, "a") as handle:
        handle.write("7,Sitting,5,1.0,2.0,3.0,\n7,Sitting,6,1.0,2.0,3.0;7,Sitting,7,1.0,2.0,3.0;\n")
    with pytest.warns(MalformedRecordsWarning, match="skipped 4 malformed records of 23"):
        data = load_wisdm(tmp_path, window=3, step=2)
    # Jogging/33: 7 rows -> starts 0, 2, 4; Walking/33: 5 -> 0, 2; Jogging/7: 4 -> 0; Sitting/7: 3 -> 0
    assert data.values.shape == (7, 3, 3)
    assert data.subjects.tolist() == [33, 33, 33, 33, 33, 7, 7]
    names = [data.class_names[i] for i in data.labels]
    assert names == ["Jogging"] * 3 + ["Walking"] * 2 + ["Jogging", "Sitting"]
    assert data.values[3, 0].tolist() == [100.0, 101.0, 102.0]  # no window crosses activities
    assert data.values[1, 1].tolist() == [-2.0, -3.0, -4.0]


def test_wisdm_missing_file_names_the_layout(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"WISDM_ar_v1\.1/WISDM_ar_v1\.1_raw\.txt"):
        load_wisdm(tmp_path)


def test_hmp_decodes_codes_to_metres_per_second_squared(tmp_path):
    assert decode_acceleration(np.array([0, 63]))[1] == pytest.approx(1.5 * 9.80665)
    assert decode_acceleration(np.array([31.5]))[0] == pytest.approx(0.0)
    rng = np.random.default_rng(0)
    walk = rng.integers(0, 64, size=(10, 3))
    write_hmp(tmp_path, [("Walk", "f1", walk), ("Walk", "m2", rng.integers(0, 64, size=(5, 3))),
                         ("Brush_teeth", "f10", rng.integers(0, 64, size=(4, 3))),
                         ("Walk", "m3", rng.integers(0, 64, size=(2, 3)))])  # shorter than a window
    (tmp_path / "HMP_Dataset" / "Walk_MODEL").mkdir()  # the authors' model trials: skipped
    data = load_hmp(tmp_path, window=4)
    assert data.class_names == ("Brush_teeth", "Walk")
    assert data.values.shape == (1 + 2 + 1, 3, 4) and data.values.dtype == torch.float32
    # Files are read activity by activity; volunteers numbered in natural order: f1, f10, m2, m3.
    assert data.labels.tolist() == [0, 1, 1, 1] and data.subjects.tolist() == [1, 0, 0, 2]
    np.testing.assert_allclose(data.values[1].numpy(), decode_acceleration(walk[:4]).T, rtol=1e-6)
    only_walk = load_hmp(tmp_path, window=4, step=2, activities=["Walk"])
    assert only_walk.class_names == ("Walk",) and len(only_walk) == 4 + 1
    with pytest.raises(ConfigError, match="found: Brush_teeth, Walk"):
        load_hmp(tmp_path, activities=["Swim"])


def test_hmp_rejects_codes_outside_0_to_63(tmp_path):
    write_hmp(tmp_path, [("Walk", "f1", np.full((5, 3), 64))])
    with pytest.raises(UserError, match="0..63"):
        load_hmp(tmp_path, window=2)


def test_hmp_missing_folder_names_the_layout(tmp_path):
    with pytest.raises(DataNotFoundError, match=r"HMP_Dataset/<Activity>/Accelerometer-\*\.txt"):
        load_hmp(tmp_path)


def test_time_series_are_registered_with_their_availability():
    assert DATASETS.get("basic-motions").offline and DATASETS.get("basic-motions").extra == "timeseries"
    for name in ("uci-har", "wisdm", "hmp"):
        assert DATASETS.get(name).local
    assert len(load_dataset("basic-motions", split="test")) == 40


def test_missing_aeon_names_the_timeseries_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "aeon", None)  # makes `import aeon.datasets` fail
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'methodzoo-shared\[timeseries\]'"):
        basic_motions("train")
