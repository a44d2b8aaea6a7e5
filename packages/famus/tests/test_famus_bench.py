"""The benchmark's verdicts on the paper's claim and its code-candidate rule (the runs are the benchmark's)."""

from __future__ import annotations

import pytest

from methodzoo.famus import DeepCNN, MetaConfig, ResNet32
from methodzoo.famus.bench import TARGET_META_RATIO, code_candidates, verdicts


def _metrics() -> dict[str, object]:
    metrics: dict[str, object] = {
        "main_setting": "sym40", "meta_step_ratio": 0.7, "target_meta_step_ratio_met": False,
        "meta_step_ratio_resnet32_famus": 0.6, "meta_step_ratio_resnet32_famus_code": 0.3,
        "ce_drop_sym40": 0.05, "ce_drop_se_sym40": 0.01}
    for kind in ("best", "last"):
        metrics.update({f"acc_{kind}_famus": 0.93, f"acc_{kind}_famus_code": 0.90, f"acc_{kind}_mwnet": 0.92,
                        f"acc_{kind}_ce": 0.9, f"acc_{kind}_random_k": 0.925, f"acc_{kind}_se_mwnet": 0.01,
                        f"acc_{kind}_se_random_k": 0.01})
    return metrics


def test_verdicts_read_the_targets_of_the_metrics() -> None:
    speed, speed_code, speed_small, accuracy, accuracy_code, above_ce, overfit, random_k = verdicts(_metrics())
    assert speed.held is False and speed.ratio == pytest.approx(0.6 / TARGET_META_RATIO)
    assert speed_code.held is True and speed_small.held is False
    assert accuracy.held and not accuracy_code.held and above_ce.held and overfit.held
    assert random_k.held is False  # 0.93 is not one s.e. above 0.925
    assert "0.9200 ± 0.0100" in accuracy.measured


def test_code_candidates_are_the_last_stage_and_the_classifier() -> None:
    cnn = code_candidates(MetaConfig(), DeepCNN(10, 1, width=4, depth=10))
    assert (cnn.candidate_layers, cnn.always_on_last) == (4, 1)  # 3 last-stage conv+BN layers + linear
    resnet = code_candidates(MetaConfig(), ResNet32(10, 3, width=4))
    assert resnet.candidate_layers == 5 * 2 + 1 + 1  # 5 blocks × 2 convs, the projection shortcut, linear
