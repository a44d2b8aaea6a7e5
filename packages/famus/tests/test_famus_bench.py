"""The benchmark's verdicts on the paper's claim (the runs themselves are the benchmark's)."""

from __future__ import annotations

import pytest

from methodzoo.famus.bench import TARGET_META_RATIO, verdicts


def test_verdicts_read_the_targets_of_the_metrics() -> None:
    metrics = {"meta_step_ratio": 0.7, "target_meta_step_ratio_met": False, "acc_best_famus": 0.93,
               "acc_best_mwnet": 0.92, "acc_best_ce": 0.9, "acc_best_se_mwnet": 0.01,
               "target_acc_within_se_best_met": True, "target_above_ce_best_met": True}
    speed, accuracy, above_ce = verdicts(metrics)
    assert speed.held is False and speed.ratio == pytest.approx(0.7 / TARGET_META_RATIO)
    assert accuracy.held and above_ce.held
    assert "0.9200 ± 0.0100" in accuracy.measured
