import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from methodzoo.shared import bench as bench_module
from methodzoo.shared.bench import (
    BenchContext,
    Benchmark,
    BenchResult,
    Profiles,
    Table,
    Verdict,
    run_benchmarks,
)
from methodzoo.shared.cli import main
from methodzoo.shared.config import Config, check
from methodzoo.shared.errors import DataNotFoundError, UserError
from methodzoo.shared.plotting import pyplot, save_figure


def _toy_run(context: BenchContext) -> BenchResult:
    plt = pyplot()
    figure, axis = plt.subplots()
    axis.plot([1, 2, 3], [3, 1, 2])
    plot = save_figure(figure, context.out_dir / "toy.png")
    scale = 1 if context.quick else 10
    return BenchResult(metrics={"answer": 42 * scale, "ratio": 0.5},
                       tables=[Table("Toy table", ["a", "b"], [[1, 2.5]])], plots=[plot],
                       notes=["a note"])


TOY = {"toy": Benchmark(name="toy", run=_toy_run, description="a test-only benchmark", claim="42")}


@pytest.fixture
def toy_benchmarks(monkeypatch):
    monkeypatch.setattr(bench_module, "discover_benchmarks", lambda names=(), warn=None: dict(TOY))
    monkeypatch.setattr(bench_module, "registered_benchmark_names", lambda: set(TOY))


def test_runner_writes_results_report_and_plots(tmp_path):
    run = run_benchmarks(["toy"], out_dir=tmp_path, benchmarks=TOY, show_progress=False)
    summary = json.loads((tmp_path / "results.json").read_text())
    assert summary["toy"]["answer"] == 42 and "environment" in summary
    assert summary["environment"]["python"]
    report = (tmp_path / "report.md").read_text()
    assert "Toy table" in report and "![toy](toy/toy.png)" in report and "a note" in report
    assert (tmp_path / "toy" / "toy.png").read_bytes()[:4] == b"\x89PNG"
    assert run.results["toy"].metrics["benchmark_seconds"] >= 0


def test_runner_unknown_name_lists_installed(tmp_path):
    with pytest.raises(UserError, match="no benchmark named nope; installed: toy"):
        run_benchmarks(["nope"], out_dir=tmp_path, benchmarks=TOY)


def test_cli_bench_json(tmp_path, toy_benchmarks, capsys):
    assert main(["bench", "toy", "--profile", "full", "--out", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["toy"]["answer"] == 420
    assert set(printed) == {"toy", "environment"}


def test_cli_bench_records_committed_artefacts(tmp_path, toy_benchmarks):
    record = tmp_path / "benchmarks"
    assert main(["bench", "toy", "--out", str(tmp_path / "out"), "--record", str(record)]) == 0
    results = record / "toy" / "results"
    assert sorted(p.name for p in results.iterdir()) == ["quick-report.md", "quick-toy.png", "quick.json"]
    recorded = json.loads((results / "quick.json").read_text())
    assert recorded["metrics"]["answer"] == 42 and recorded["tables"][0]["rows"] == [[1, 2.5]]
    report = (results / "quick-report.md").read_text()
    assert "![toy](quick-toy.png)" in report and "--record" in report and "Toy table" in report


def test_cli_bench_table(tmp_path, toy_benchmarks, capsys):
    assert main(["bench", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "toy" in out and "answer" in out and "results.json" in out


def test_cli_user_errors_are_one_line_and_exit_2(tmp_path, toy_benchmarks, capsys):
    assert main(["bench", "missing", "--out", str(tmp_path)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "warning" not in line]
    assert errors == ["methodzoo: error: no benchmark named missing; installed: toy"]
    assert main(["bench", "--profile", "huge"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["no-such-command"]) == 2


def test_cli_list(capsys):
    assert main(["list", "--json"]) == 0
    methods = json.loads(capsys.readouterr().out)
    assert all(m["distribution"].startswith("methodzoo-") for m in methods)


def _broken_run(context: BenchContext) -> BenchResult:
    raise RuntimeError("diverged")


def test_a_failing_benchmark_does_not_stop_the_others(tmp_path, monkeypatch, capsys):
    benchmarks = {**TOY, "broken": Benchmark(name="broken", run=_broken_run)}
    monkeypatch.setattr(bench_module, "discover_benchmarks", lambda names=(), warn=None: dict(benchmarks))
    assert main(["bench", "--out", str(tmp_path), "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["toy"]["answer"] == 42
    assert printed["failures"] == {"broken": "RuntimeError: diverged"}
    assert "broken: RuntimeError: diverged" in (tmp_path / "report.md").read_text()


def test_discovery_skips_broken_plugins_unless_named(monkeypatch):
    class Entry:
        def __init__(self, name, target):
            self.name, self.value, self._target = name, f"pkg.{name}:benchmark", target

        def load(self):
            if isinstance(self._target, Exception):
                raise self._target
            return self._target

    entries = [Entry("toy", TOY["toy"]), Entry("broken", ImportError("No module named 'pkg.broken'"))]
    monkeypatch.setattr(bench_module, "entry_points", lambda group: entries)
    warnings: list[str] = []
    assert set(bench_module.discover_benchmarks(warn=warnings.append)) == {"toy"}
    assert warnings == ["benchmark 'broken' failed to load: No module named 'pkg.broken'"]
    assert set(bench_module.discover_benchmarks(["toy"])) == {"toy"}
    with pytest.raises(UserError, match="'broken' failed to load"):
        bench_module.discover_benchmarks(["broken"])


def _needs_missing_data(context: BenchContext) -> BenchResult:
    raise DataNotFoundError("expected train.csv in /nowhere")


def test_a_benchmark_user_error_fails_that_benchmark_only(tmp_path):
    benchmarks = {**TOY, "broken": Benchmark(name="broken", run=_needs_missing_data)}
    run = run_benchmarks(["broken", "toy"], out_dir=tmp_path, benchmarks=benchmarks, show_progress=False)
    assert "toy" in run.results
    assert run.failures == {"broken": "DataNotFoundError: expected train.csv in /nowhere"}
    assert "broken" in (tmp_path / "report.md").read_text()


def test_an_unavailable_device_is_the_users_error_for_every_method(tmp_path):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(UserError, match="CUDA is not available"):
        run_benchmarks(["toy"], out_dir=tmp_path, benchmarks=TOY, device="cuda")


def test_unknown_name_lists_the_installed_entry_points(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_module, "registered_benchmark_names", lambda: {"cud", "famus"})
    with pytest.raises(UserError, match="installed: cud, famus"):
        run_benchmarks(["nope"], out_dir=tmp_path)


def test_report_opens_with_the_verdict_and_keeps_every_metric_last(tmp_path):
    def run(context: BenchContext) -> BenchResult:
        return BenchResult(metrics={f"m{i}": i for i in range(30)},
                           tables=[Table("Main", ["a"], [[1]]), Table("Other", ["b"], [[2]])],
                           verdicts=[Verdict("ours beats the peer", False, "ratio 0.8", "ratio <= 0.5", 1.6)])

    run_benchmarks(["v"], out_dir=tmp_path, benchmarks={"v": Benchmark("v", run, claim="c")},
                   show_progress=False)
    report = (tmp_path / "report.md").read_text()
    order = [report.index(s) for s in ("Claim checked", "did not hold", "**Main**", "**Other**", "| m29 |")]
    assert order == sorted(order)


def test_profiles_select_validated_settings():
    @dataclass(frozen=True)
    class Settings(Config):
        steps: int = 1

        def validate(self) -> None:
            check(self.steps > 0, "steps must be positive")

    profiles = Profiles(quick=Settings(2), full=Settings(20))
    context = BenchContext(profile="full", out_dir=Path("."))
    assert context.settings(profiles).steps == 20 and profiles.select("quick").steps == 2
    with pytest.raises(UserError, match="unknown profile"):
        profiles.select("medium")
