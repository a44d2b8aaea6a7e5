"""The benchmark's report and verdicts from made-up runs (no model is trained here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from methodzoo.cap_prune.bench import ARMS, ONE_SHOT, PROFILES, PruneOutcome, Settings, _report
from methodzoo.cap_prune.train import RunResult
from methodzoo.shared.bench import BenchContext


def _outcomes(accuracy: dict[tuple[str, float], list[float]]) -> list[PruneOutcome]:
    return [PruneOutcome(arm, seed, sparsity, value, sparsity, 10.0, 1.0)
            for (arm, sparsity), values in accuracy.items() for seed, value in enumerate(values)]


def _run(tmp_path: Path, settings: Settings, accuracy: dict[tuple[str, float], list[float]]) -> object:
    shots = sorted(set(settings.sparsities) | set(settings.one_shot_sparsities))
    one_shot = {(method, s): (0.5, s, 1.0) for s in shots for method in ONE_SHOT}
    context = BenchContext(profile="quick", out_dir=tmp_path, show_progress=False)
    return _report(context, settings, 0.8, RunResult(0.8, 10, 5.0, {"loss": [1.0]}), _outcomes(accuracy), one_shot,
                   {}, {"seconds": 1.0, "cpu_seconds": 2.0, "teacher_cached": False})


def test_the_claim_holds_only_when_the_gap_beats_the_seed_spread(tmp_path: Path) -> None:
    settings = Settings(seeds=2, one_shot_sparsities=(0.5, 0.7))
    held = _run(tmp_path, settings, {("kd", 0.9): [0.60, 0.62], ("cap", 0.9): [0.68, 0.70]})
    assert held.verdicts[0].held is True and held.verdicts[1].held is None
    metrics = held.metrics
    assert {"acc_dense", "acc_kd_s90", "acc_cap_s90", "sparsity_s90", "acc_magnitude_s90", "acc_wanda_s50",
            "acc_sparsegpt_s70"} <= set(metrics)
    assert metrics["retained_cap_s90"] == pytest.approx(0.69 / 0.8, abs=1e-4)
    assert metrics["gap_cap_minus_kd_s90"] == pytest.approx(0.08 / 0.8, abs=1e-4)
    noisy = _run(tmp_path, settings, {("kd", 0.9): [0.50, 0.70], ("cap", 0.9): [0.62, 0.64]})
    assert noisy.verdicts[0].held is False  # gap 0.0125 < spread 0.177
    assert Path(held.plots[0]).is_file()


def test_the_gap_must_grow_from_90_to_97(tmp_path: Path) -> None:
    settings = Settings(seeds=2, sparsities=(0.9, 0.97))
    result = _run(tmp_path, settings, {("kd", 0.9): [0.60, 0.61], ("cap", 0.9): [0.65, 0.66],
                                       ("kd", 0.97): [0.40, 0.41], ("cap", 0.97): [0.55, 0.56]})
    assert [v.held for v in result.verdicts] == [True, True]
    assert "acc_cap_s97" in result.metrics
    # A gap that grows by less than the seed spread is not growth.
    flat = _run(tmp_path, settings, {("kd", 0.9): [0.60, 0.61], ("cap", 0.9): [0.65, 0.66],
                                     ("kd", 0.97): [0.40, 0.42], ("cap", 0.97): [0.455, 0.475]})
    assert [v.held for v in flat.verdicts] == [True, False]


def test_profiles_are_valid_and_the_full_one_is_paper_shaped() -> None:
    # Both profiles run every arm at 90 and 97 %, so each can decide both targets.
    assert PROFILES.quick.sparsities == (0.9, 0.97) and set(PROFILES.quick.arms) == set(ARMS)
    full = PROFILES.full
    assert full.sparsities == (0.9, 0.97) and set(full.arms) == {"kd", "prc", "snc", "fic", "cap"}
    assert full.pruner == "movement" and full.structured_ratios
