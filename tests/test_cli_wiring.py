"""Every installed method package wires a CLI subcommand and a benchmark into the core."""

from importlib.metadata import entry_points

import pytest

from methodzoo.shared.bench import Benchmark, discover_benchmarks
from methodzoo.shared.cli import main

METHODS = sorted(e.name for e in entry_points(group="methodzoo.methods"))
# Benchmarks the core registers itself (its compression toolkit), with no method subcommand.
CORE_BENCHMARKS = sorted(e.name for e in entry_points(group="methodzoo.benchmarks")
                         if e.dist is not None and e.dist.name == "methodzoo-shared")


def test_each_method_registers_both_entry_points():
    benchmarks = {e.name for e in entry_points(group="methodzoo.benchmarks")} - set(CORE_BENCHMARKS)
    assert set(METHODS) == benchmarks


def test_benchmarks_load():
    found = discover_benchmarks()
    assert set(found) == set(METHODS) | set(CORE_BENCHMARKS)
    assert all(isinstance(b, Benchmark) and b.name == name for name, b in found.items())


@pytest.mark.parametrize("method", METHODS)
def test_method_subcommand_has_help(method, capsys):
    (entry,) = [e for e in entry_points(group="methodzoo.methods") if e.name == method]
    entry.load()  # a broken plug-in is only a warning in the CLI: here it is a failure
    with pytest.raises(SystemExit) as exit_info:
        main([method, "--help"])
    assert exit_info.value.code == 0
    assert method in capsys.readouterr().out
