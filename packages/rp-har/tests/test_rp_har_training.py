"""Tiny end-to-end runs: the signed modified RP learns the trend direction that the plain RP
cannot see; model selection, saving and loading, the raw baseline."""

from __future__ import annotations

import pytest
import torch

from methodzoo.rp_har.config import EncodingConfig, TrainConfig
from methodzoo.rp_har.containers import LabeledSeries
from methodzoo.rp_har.synthetic import direction_accuracy, trend_mirrored
from methodzoo.rp_har.training import RPHarClassifier, evaluate, fit
from methodzoo.shared.errors import UserError
from methodzoo.shared.testing import binomial_band


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train faster on one thread (per-operation overhead, not arithmetic, dominates)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


TINY = TrainConfig(backbone="small-cnn", width=4, epochs=10, batch_size=8, optimizer="adam", lr=1e-2,
                   lr_step=0, mixup_alpha=0.0, augment="none")


@pytest.fixture(scope="module")
def splits() -> tuple[LabeledSeries, LabeledSeries]:
    return (trend_mirrored(subjects=range(0, 5), per_class=4, length=48),
            trend_mirrored(subjects=range(5, 7), per_class=4, length=48))


def test_signed_modified_rp_learns_the_direction_a_plain_rp_cannot_see(splits):
    train, test = splits
    signed = fit(train, TINY, EncodingConfig.modified_rp(image_size=16), device="cpu", show_progress=False)
    plain = fit(train, TINY, EncodingConfig.plain_rp(image_size=16), device="cpu", show_progress=False)
    signed_metrics, plain_metrics = evaluate(signed.classifier, test), evaluate(plain.classifier, test)
    assert direction_accuracy(signed_metrics["predicted"], test.labels) >= 0.95
    assert signed_metrics["accuracy"] >= 0.8
    low, high = binomial_band(len(test), 0.5, 0.99)
    assert low / len(test) <= direction_accuracy(plain_metrics["predicted"], test.labels) <= high / len(test)


def test_selection_uses_whole_held_out_subjects_and_the_best_epoch(splits):
    train, _ = splits
    result = fit(train, TINY.replace(epochs=3), EncodingConfig.plain_rp(image_size=8), device="cpu",
                 show_progress=False)
    assert (result.train_size, result.val_size) == (96, 24)  # one of five subjects held out
    history = result.history["val_accuracy"]
    assert len(history) == 3 and result.best_val_accuracy == max(history)
    assert result.best_epoch == history.index(max(history)) + 1 or history.count(max(history)) > 1


def test_save_and_load_give_the_same_predictions(splits, tmp_path):
    train, test = splits
    result = fit(train, TINY.replace(epochs=1, mixup_alpha=0.4), EncodingConfig(image_size=8), device="cpu",
                 show_progress=False)
    result.classifier.save(tmp_path / "model")
    loaded = RPHarClassifier.load(tmp_path / "model")
    assert loaded.encoding == result.classifier.encoding and loaded.class_names == train.class_names
    assert torch.equal(loaded.predict_logits(test.values), result.classifier.predict_logits(test.values))
    with pytest.raises(UserError, match="not a saved rp-har model"):
        RPHarClassifier.load(tmp_path)


def test_raw_baseline_trains_on_the_series(splits):
    train, test = splits
    result = fit(train, TINY.replace(backbone="raw1d", epochs=2), device="cpu", show_progress=False)
    assert result.classifier.encoding is None
    assert evaluate(result.classifier, test)["macro_f1"] >= 0.0


def test_evaluation_refuses_data_with_other_classes(splits):
    train, test = splits
    result = fit(train, TINY.replace(epochs=1), EncodingConfig.plain_rp(image_size=8), device="cpu", show_progress=False)
    other = LabeledSeries(test.values, test.labels, tuple(reversed(test.class_names)), test.channel_names)
    with pytest.raises(UserError, match="classes"):
        evaluate(result.classifier, other)
    with pytest.raises(UserError, match="expected windows"):
        result.classifier.predict(test.values[:, :2])
