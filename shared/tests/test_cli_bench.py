import json

import pytest

from methodzoo.shared import bench as bench_module
from methodzoo.shared.bench import BenchContext, Benchmark, BenchResult, Table, run_benchmarks
from methodzoo.shared.cli import main
from methodzoo.shared.errors import UserError
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
