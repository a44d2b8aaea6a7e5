"""The synthetic trend-mirrored set and the data sources: determinism, subjects, the mirror
property that blinds a plain RP, channel selection and the validation splits."""

from __future__ import annotations

import pytest
import torch

from methodzoo.rp_har.containers import LabeledSeries, select_channels
from methodzoo.rp_har.data import load_series, validation_split
from methodzoo.rp_har.recurrence import modified_recurrence_plot, recurrence_plot
from methodzoo.rp_har.synthetic import PAIRS, direction_accuracy, trend_mirrored
from methodzoo.shared.errors import ConfigError, UserError


def test_trend_pairs_are_seeded_and_each_subject_is_drawn_on_its_own():
    data = trend_mirrored(subjects=3, per_class=2, length=64, seed=5)
    assert data.values.shape == (36, 3, 64) and data.values.dtype == torch.float32
    assert data.labels.bincount().tolist() == [6] * 6 and data.subjects.unique().tolist() == [0, 1, 2]
    again = trend_mirrored(subjects=3, per_class=2, length=64, seed=5)
    assert torch.equal(again.values, data.values)
    alone = trend_mirrored(subjects=(2,), per_class=2, length=64, seed=5)
    assert torch.equal(alone.values, data.values[data.subjects == 2])
    assert not torch.equal(trend_mirrored(subjects=1, seed=6).values, trend_mirrored(subjects=1, seed=5).values)


def test_classes_of_a_pair_differ_in_the_direction_of_the_trend():
    data = trend_mirrored(subjects=4, per_class=5, length=128, noise=0.0)
    pair = PAIRS[0]
    axis = max(range(3), key=lambda a: pair.axes[a])
    change = data.values[:, axis, -16:].mean(-1) - data.values[:, axis, :16].mean(-1)
    assert bool((change[data.labels == 0] < 0).all()) and bool((change[data.labels == 1] > 0).all())


def test_mirroring_a_window_leaves_its_plain_rp_and_negates_its_signed_rp():
    window = trend_mirrored(subjects=1, per_class=1, length=64).values[:1].double()  # a "down" window
    mirrored = -window + 2.0  # the same oscillation with flipped phase, the trend going up
    torch.testing.assert_close(recurrence_plot(mirrored, 2, dtype=torch.float64),
                               recurrence_plot(window, 2, dtype=torch.float64), atol=1e-12, rtol=0)
    signed = modified_recurrence_plot(window, 2, dtype=torch.float64)
    torch.testing.assert_close(modified_recurrence_plot(mirrored, 2, dtype=torch.float64), -signed)


def test_direction_accuracy_reads_label_parity():
    assert direction_accuracy(torch.tensor([0, 3, 5, 2]), torch.tensor([2, 1, 4, 0])) == 0.75


def test_trend_pairs_splits_are_subject_disjoint():
    train, test = load_series("trend-pairs", "train"), load_series("trend-pairs", "test")
    assert set(train.subjects.tolist()).isdisjoint(test.subjects.tolist())
    assert len(train) == 288 and len(test) == 144


def test_validation_split_holds_out_whole_subjects_or_stratifies():
    data = trend_mirrored(subjects=5, per_class=2, length=32)
    rest, validation = validation_split(data, 0.2)
    assert set(rest.subjects.tolist()).isdisjoint(validation.subjects.tolist()) and len(validation.subjects.unique()) == 1
    no_subjects = LabeledSeries(data.values, data.labels, data.class_names, data.channel_names)
    rest, validation = validation_split(no_subjects, 0.3, seed=1)
    assert validation.labels.bincount().tolist() == [3] * 6 and len(rest) == 42
    with pytest.raises(ConfigError, match="subject ids"):
        validation_split(no_subjects, 0.25, "subject")


def test_basic_motions_loads_offline_with_channel_selection():
    pytest.importorskip("aeon")
    data = load_series("basic-motions", "test", channels=(0, 1, 2))
    assert data.values.shape == (40, 3, 100) and data.channel_names == ("acc_x", "acc_y", "acc_z")
    assert data.class_names == ("badminton", "running", "standing", "walking")
    with pytest.raises(ConfigError, match="out of range"):
        select_channels(data, (5,))


def test_unknown_data_and_missing_local_files_are_user_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown data set"):
        load_series("imagenet")
    with pytest.raises(UserError):
        load_series("uci-har", root=tmp_path)


def test_local_hmp_is_split_by_volunteer_and_uci_har_keeps_its_split(tmp_path):
    import numpy as np

    from methodzoo.shared.testing import write_hmp, write_uci_har

    rng = np.random.default_rng(0)
    write_hmp(tmp_path, [(activity, volunteer, rng.integers(0, 64, (300, 3)))
                         for activity in ("Walk", "Climb_stairs") for volunteer in ("f1", "f2", "m1", "m2")])
    train, test = load_series("hmp", "train", root=tmp_path), load_series("hmp", "test", root=tmp_path)
    assert train.values.shape[1:] == (3, 150) and len(train) + len(test) == 16
    assert len(test.subjects.unique()) == 1 and set(train.subjects.tolist()).isdisjoint(test.subjects.tolist())
    write_uci_har(tmp_path, "test", rng.standard_normal((4, 9, 128)), [1, 2, 3, 4], [2, 2, 4, 4])
    uci = load_series("uci-har", "test", root=tmp_path, channels=(6, 7, 8))
    assert uci.values.shape == (4, 3, 128) and uci.channel_names == ("total_acc_x", "total_acc_y", "total_acc_z")
