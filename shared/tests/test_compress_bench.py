"""The compression benchmark is registered with the core runner; a tiny end-to-end run (slow)."""

import importlib.metadata

import pytest

from methodzoo.shared.bench import BENCHMARK_GROUP, BenchContext, Benchmark, Profiles


def test_compress_benchmark_is_registered() -> None:
    entries = {e.name: e for e in importlib.metadata.entry_points(group=BENCHMARK_GROUP)}
    assert entries["compress"].value == "methodzoo.shared.compress.bench:benchmark"
    benchmark = entries["compress"].load()
    assert isinstance(benchmark, Benchmark) and benchmark.name == "compress"


@pytest.mark.slow
def test_tiny_benchmark_run_reports_every_required_key(tmp_path, monkeypatch) -> None:
    from methodzoo.shared.compress import bench
    from methodzoo.shared.compress.bench_settings import BenchSettings

    tiny = BenchSettings(seeds=1, train_steps=20, finetune_steps=4, timing_rounds=2, photos=2, calibration_crops=2)
    monkeypatch.setattr(bench, "PROFILES", Profiles(quick=tiny, full=tiny))
    result = bench.run(BenchContext(profile="quick", out_dir=tmp_path, show_progress=False))
    required = {"acc_dense", "acc_pruned", "acc_kmeans", "acc_lowrank", "acc_kd_student", "alpha_pruned",
                "alpha_deep_compression", "delta_int8", "delta_compact"}
    assert required <= set(result.metrics)
    assert len(result.verdicts) == 4 and result.plots[0].exists()
    assert result.metrics["peer_prune_differing_mask_entries"] == 0
