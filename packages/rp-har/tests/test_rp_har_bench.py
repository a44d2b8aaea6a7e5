"""The benchmark's pieces: one job at tiny size, the metric keys the issue asks for, and the
verdicts' logic on made-up runs."""

from __future__ import annotations

import pytest
import torch

from methodzoo.rp_har.bench import ARMS, PROFILES, Job, Settings, _summaries, _verdicts, run_job

ISSUE_KEYS = ("acc_raw1d", "acc_rp", "acc_gaf", "acc_mtf", "acc_modrp", "acc_modrp_fft", "acc_modrp_fft_mixup",
              "acc_rp_trend_pairs", "acc_modrp_fft_trend_pairs")


def _fake_runs(direction_rp: float, accuracy_fft: float) -> list[dict]:
    runs = []
    for dataset in ("trend-pairs", "basic-motions"):
        for seed in range(3):
            for arm in ARMS:
                accuracy = accuracy_fft if arm.startswith("modrp_fft") else 0.5
                runs.append({"dataset": dataset, "arm": arm, "seed": seed, "accuracy": accuracy + 0.01 * seed,
                             "macro_f1": accuracy, "direction_accuracy": direction_rp if arm == "rp" else 1.0,
                             "test_windows": 144})
    return runs


def test_summaries_carry_the_issue_keys_with_spread():
    metrics, rows = _summaries(_fake_runs(0.5, 0.97), Settings())
    for key in ISSUE_KEYS:
        assert key in metrics and f"{key}_std" in metrics and f"{key}_ci95" in metrics
        assert f"{key.replace('acc_', 'f1_', 1)}" in metrics
    assert metrics["acc_rp"] == pytest.approx(0.51) and len(rows) == len(ARMS)


@pytest.mark.parametrize("direction, accuracy, held", [(0.5, 0.97, (True, True)), (0.9, 0.8, (False, False))])
def test_verdicts_follow_the_targets(direction, accuracy, held):
    runs = _fake_runs(direction, accuracy)
    metrics, _ = _summaries(runs, Settings())
    metrics.update({"encode_speedup": 2.5, "encode_seconds_ours": 0.04, "encode_seconds_pyts": 0.1})
    verdicts = _verdicts(metrics, runs, Settings(), "cpu")
    assert (verdicts[0].held, verdicts[1].held) == held
    assert verdicts[2].held is True
    assert verdicts[3].held is (None if not torch.cuda.is_available() else True)


def test_one_job_runs_at_tiny_size():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    settings = Settings(seeds=1, image_size=8, width=4, epochs={"trend-pairs": 1, "basic-motions": 1,
                                                                  "pickup-gesture": 1})
    try:
        result = run_job(Job("trend-pairs", "modrp_fft_mixup", 0, settings, "cpu"))
    finally:
        torch.set_num_threads(threads)
    assert result["test_windows"] == 144 and 0 <= result["direction_accuracy"] <= 1
    assert result["train_windows"] + result["val_windows"] == 288


def test_profiles_are_valid_and_the_full_one_is_the_paper_setting():
    assert PROFILES.quick.backbone == "small-cnn"
    full = PROFILES.full
    assert (full.backbone, full.pretrained, full.image_size, full.optimizer) == ("efficientnet-lite0", True, 224, "sgd")
    assert full.train_config("trend-pairs", "modrp_fft_mixup", 0).mixup_alpha == 0.4
    assert full.train_config("trend-pairs", "modrp_fft", 0).mixup_alpha == 0.0
    assert full.encoding("raw1d") is None and full.encoding("varrp").trend_weight == "state_angle_exp"
