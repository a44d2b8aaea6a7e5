"""The benchmark runner behind ``methodzoo bench``.

Each method package registers one :class:`Benchmark` under the entry-point group
``methodzoo.benchmarks``. The runner finds the installed ones (never importing a method package
by name), runs them with a :class:`BenchContext`, and writes under ``--out``:

    results.json        {"<method>": {"<metric>": value, ...}, ..., "environment": {...}}
    report.md           each method's tables and plots, with the environment
    <method>/...        the PNG plots and any files the benchmark wrote

With ``--record benchmarks`` it also copies each method's figures into
``benchmarks/<method>/results/`` (see :func:`record_results`), the committed artefacts the
package READMEs quote.
"""

from __future__ import annotations

import dataclasses
import platform
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from methodzoo.shared.config import Config
from methodzoo.shared.device import resolve_device
from methodzoo.shared.errors import UserError
from methodzoo.shared.io import atomic_write_bytes, atomic_write_text, to_jsonable, write_json
from methodzoo.shared.progress import progress

BENCHMARK_GROUP = "methodzoo.benchmarks"
Profile = Literal["quick", "full"]
Scalar = float | int | str | bool | None


@dataclass(frozen=True)
class Table:
    """A table for the report: a title, column names and rows of values."""

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]

    def to_markdown(self) -> str:
        header = "| " + " | ".join(self.columns) + " |"
        rule = "|" + "|".join("---" for _ in self.columns) + "|"
        body = ["| " + " | ".join(_format_cell(v) for v in row) + " |" for row in self.rows]
        return "\n".join([f"**{self.title}**", "", header, rule, *body])


@dataclass(frozen=True)
class Verdict:
    """Whether one claim held: the target, what was measured, and ``held`` (None: not decided,
    e.g. a peer was missing). ``ratio`` is measured/target where a ratio means something."""

    claim: str
    held: bool | None
    measured: str
    target: str = ""
    ratio: float | None = None

    def to_markdown_row(self) -> list[Any]:
        outcome = {True: "held", False: "did not hold", None: "undecided"}[self.held]
        return [self.claim, self.target, self.measured, outcome,
                "" if self.ratio is None else f"{self.ratio:.3g}"]


@dataclass
class BenchResult:
    """What a benchmark returns: headline metrics (flat, JSON-able), the verdicts on the claims it
    checks, tables (the first is the main one), plots, notes."""

    metrics: dict[str, Scalar]
    tables: list[Table] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    verdicts: list[Verdict] = field(default_factory=list)


ProfileSettings = TypeVar("ProfileSettings", bound=Config)


@dataclass(frozen=True)
class Profiles(Generic[ProfileSettings]):
    """A benchmark's settings per profile, each a validated :class:`~methodzoo.shared.config.Config`::

        PROFILES = Profiles(quick=Settings(steps=200), full=Settings(steps=4000))
        settings = PROFILES.select(context.profile)
    """

    quick: ProfileSettings
    full: ProfileSettings

    def select(self, profile: str) -> ProfileSettings:
        if profile not in ("quick", "full"):
            raise UserError(f"unknown profile {profile!r}; valid: quick, full")
        return self.quick if profile == "quick" else self.full


@dataclass(frozen=True)
class BenchContext:
    """What the runner hands a benchmark."""

    profile: Profile
    out_dir: Path
    seed: int = 0
    device: str = "auto"
    show_progress: bool | None = None

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def settings(self, profiles: Profiles[ProfileSettings]) -> ProfileSettings:
        """This run's settings from a benchmark's :class:`Profiles`."""
        return profiles.select(self.profile)

    def progress(self, iterable: Any = None, *, total: int | None = None, desc: str = "") -> Any:
        return progress(iterable, total=total, desc=desc, enabled=self.show_progress)


@dataclass(frozen=True)
class Benchmark:
    """A method's registered benchmark: ``run(context) -> BenchResult``."""

    name: str
    run: Callable[[BenchContext], BenchResult]
    description: str = ""
    claim: str = ""


def discover_benchmarks(names: Sequence[str] = (),
                        warn: Callable[[str], None] | None = None) -> dict[str, Benchmark]:
    """The benchmarks registered by installed method packages, keyed by method name.

    With ``names``, only those entry points are loaded and one that fails to load is an error.
    Without, a plug-in that fails to load is reported through ``warn`` and skipped, so one broken
    package cannot block the others' benchmarks.
    """
    found: dict[str, Benchmark] = {}
    for entry in entry_points(group=BENCHMARK_GROUP):
        if names and entry.name not in names:
            continue
        try:
            benchmark = entry.load()
            if not isinstance(benchmark, Benchmark):
                raise TypeError(f"{entry.value} is a {type(benchmark).__name__}, not a methodzoo Benchmark")
        except Exception as error:
            message = f"benchmark {entry.name!r} failed to load: {error}"
            if names:
                raise UserError(message) from error
            if warn is not None:
                warn(message)
            continue
        found[entry.name] = benchmark
    return found


def registered_benchmark_names() -> set[str]:
    """Names of every benchmark entry point installed, without loading any of them."""
    return {entry.name for entry in entry_points(group=BENCHMARK_GROUP)}


def environment() -> dict[str, Any]:
    """Where the numbers were measured."""
    import os

    import torch

    info: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
        "methodzoo_shared": _version("methodzoo-shared"),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


@dataclass
class BenchRun:
    results: dict[str, BenchResult]
    seconds: dict[str, float]
    environment: dict[str, Any]
    out_dir: Path
    failures: dict[str, str] = field(default_factory=dict)
    benchmarks: dict[str, Benchmark] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        summary: dict[str, Any] = {name: dict(r.metrics) for name, r in self.results.items()}
        summary["environment"] = self.environment
        if self.failures:
            summary["failures"] = dict(self.failures)
        return to_jsonable(summary)


def run_benchmarks(names: Sequence[str] = (), *, profile: Profile = "quick",
                   out_dir: str | Path = "bench-out", seed: int = 0, device: str = "auto",
                   benchmarks: Mapping[str, Benchmark] | None = None,
                   show_progress: bool | None = None,
                   log: Callable[[str], None] | None = None) -> BenchRun:
    """Run the named benchmarks (all when ``names`` is empty) and write the results.

    A benchmark that raises is recorded in ``failures`` (with its traceback logged) and the
    others still run.
    """
    installed = set(benchmarks) if benchmarks is not None else registered_benchmark_names()
    unknown = [n for n in names if n not in installed]
    if unknown:
        valid = ", ".join(sorted(installed)) or "(no method package installed)"
        raise UserError(f"no benchmark named {', '.join(unknown)}; installed: {valid}")
    resolve_device(device)  # an unavailable device is the user's to fix, for every method
    available = dict(benchmarks) if benchmarks is not None else discover_benchmarks(names, warn=log)
    selected = list(names) or sorted(available)
    if not selected:
        raise UserError("no benchmarks installed: install a methodzoo method package")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[str, BenchResult] = {}
    seconds: dict[str, float] = {}
    failures: dict[str, str] = {}
    for name in progress(selected, desc="benchmarks", enabled=show_progress):
        if log:
            log(f"running benchmark {name} ({profile})")
        context = BenchContext(profile=profile, out_dir=out / name, seed=seed, device=device,
                               show_progress=show_progress)
        context.out_dir.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        try:
            result = available[name].run(context)
        except UserError as error:  # missing data or extra: this method cannot run, the others can
            failures[name] = f"{type(error).__name__}: {error}"
            if log:
                log(f"benchmark {name} could not run: {error}")
            continue
        except Exception as error:
            failures[name] = f"{type(error).__name__}: {error}"
            if log:
                log(f"benchmark {name} failed:\n{traceback.format_exc()}")
            continue
        seconds[name] = time.perf_counter() - start
        result.metrics.setdefault("benchmark_seconds", round(seconds[name], 2))
        results[name] = result
        write_json(context.out_dir / "results.json", {
            "metrics": result.metrics, "details": result.details,
            "verdicts": [dataclasses.asdict(v) for v in result.verdicts]})
    run = BenchRun(results, seconds, environment(), out, failures, {n: available[n] for n in selected})
    write_json(out / "results.json", run.summary())
    atomic_write_text(out / "report.md", render_report(run, available, profile))
    return run


def render_report(run: BenchRun, benchmarks: Mapping[str, Benchmark], profile: str) -> str:
    lines = [f"# methodzoo benchmark report ({profile} profile)", ""]
    for name, result in run.results.items():
        lines += render_section(name, result, benchmarks[name], run.seconds[name],
                                link=lambda plot: _relative(plot, run.out_dir))
    if run.failures:
        lines += ["## Failures", ""] + [f"- {name}: {message}" for name, message in run.failures.items()] + [""]
    lines += ["## Environment", ""]
    lines += [f"- {k}: {v}" for k, v in run.environment.items()]
    return "\n".join(lines) + "\n"


def render_section(name: str, result: BenchResult, bench: Benchmark, seconds: float,
                   link: Callable[[Path], str]) -> list[str]:
    """One method's part of a report: claim, headline metrics, tables, plots, notes."""
    lines = [f"## {name}", ""]
    if bench.claim:
        lines += [f"Claim checked: {bench.claim}", ""]
    if result.verdicts:
        lines += [Table("Outcome", ["claim", "target", "measured", "outcome", "measured/target"],
                        [v.to_markdown_row() for v in result.verdicts]).to_markdown(), ""]
    if result.tables:
        lines += [result.tables[0].to_markdown(), ""]
    for plot in result.plots:
        lines += [f"![{Path(plot).stem}]({link(Path(plot))})", ""]
    for table in result.tables[1:]:
        lines += [table.to_markdown(), ""]
    lines += [f"- {note}" for note in result.notes]
    if result.notes:
        lines.append("")
    lines += [f"Run time: {seconds:.1f} s", "",
              "<details><summary>All metrics</summary>", "",
              Table("Metrics", ["metric", "value"],
                    [[k, v] for k, v in result.metrics.items()]).to_markdown(), "", "</details>", ""]
    return lines


def record_results(run: BenchRun, benchmarks: Mapping[str, Benchmark], folder: str | Path,
                   profile: str) -> list[Path]:
    """Copy each method's figures into ``folder/<method>/results/`` as committed artefacts:
    ``<profile>.json`` (metrics, tables, details, environment), ``<profile>-report.md`` and
    ``<profile>-<plot>.png``. Returns the folders written."""
    written = []
    for name, result in run.results.items():
        target = Path(folder) / name / "results"
        target.mkdir(parents=True, exist_ok=True)
        copies: dict[Path, str] = {}  # plot path → its file name under target
        for plot in result.plots:
            copy_name = f"{profile}-{Path(plot).name}"
            atomic_write_bytes(target / copy_name, Path(plot).read_bytes())
            copies[Path(plot)] = copy_name
        write_json(target / f"{profile}.json", {
            "metrics": result.metrics,
            "tables": [{"title": t.title, "columns": list(t.columns), "rows": t.rows} for t in result.tables],
            "notes": result.notes,
            "verdicts": [dataclasses.asdict(v) for v in result.verdicts],
            "details": result.details,
            "environment": run.environment,
        })
        section = render_section(name, result, benchmarks[name], run.seconds[name],
                                 link=copies.__getitem__)
        header = [f"# {name} benchmark ({profile} profile)", "",
                  f"Command: `methodzoo bench {name} --profile {profile} --record {Path(folder)}`", ""]
        environment = ["## Environment", "", *(f"- {k}: {v}" for k, v in run.environment.items())]
        atomic_write_text(target / f"{profile}-report.md", "\n".join(header + section[2:] + environment) + "\n")
        written.append(target)
    return written


def format_summary_table(run: BenchRun) -> str:
    """The plain-text table printed at the end of ``methodzoo bench``."""
    rows = [(name, f"claim: {verdict.claim}",
             f"{ {True: 'held', False: 'did not hold', None: 'undecided'}[verdict.held]} "
             f"({verdict.measured}; target {verdict.target})")
            for name, result in run.results.items() for verdict in result.verdicts]
    rows += [(name, key, _format_cell(value))
             for name, result in run.results.items() for key, value in result.metrics.items()]
    width_name = max([len("method"), *(len(r[0]) for r in rows)])
    width_key = max([len("metric"), *(len(r[1]) for r in rows)])
    lines = [f"{'method':<{width_name}}  {'metric':<{width_key}}  value"]
    lines += [f"{n:<{width_name}}  {k:<{width_key}}  {v}" for n, k, v in rows]
    return "\n".join(lines)


def _relative(plot: Path, root: Path) -> str:
    return str(Path(plot).resolve().relative_to(root.resolve()))


def _format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except Exception:
        return None
