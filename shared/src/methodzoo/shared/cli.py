"""The ``methodzoo`` command.

Core subcommands: ``list`` (installed methods) and ``bench``. Each method package adds its own
subcommand tree through the entry-point group ``methodzoo.methods``: the entry point is a
``register(subparsers)`` function that adds ``methodzoo <method> ...`` and sets ``handler`` on its
parsers, a function ``handler(args) -> int``. The core never imports a method package by name.

User mistakes (:class:`~methodzoo.shared.errors.UserError`) print one line and exit with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from methodzoo.shared.errors import UserError

METHOD_GROUP = "methodzoo.methods"
Handler = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that raises UserError instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def add_common_arguments(parser: argparse.ArgumentParser, *, seed: bool = True, device: bool = True,
                         json: bool = True) -> None:
    """The flags every method command shares, with one default each: ``--seed 0``,
    ``--device auto`` (CUDA, then MPS, then CPU) and ``--json`` (one JSON object on stdout)."""
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    if device:
        parser.add_argument("--device", default="auto",
                            help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps (default: auto)")
    if json:
        parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="methodzoo", description="Recent ML papers as tested PyTorch packages.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    listing = sub.add_parser("list", help="show the installed methods")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    bench = sub.add_parser("bench", help="run the installed methods' benchmarks")
    bench.add_argument("names", nargs="*", metavar="NAME", help="methods to run (default: all)")
    bench.add_argument("--profile", choices=["quick", "full"], default="quick")
    bench.add_argument("--out", default="bench-out", help="output folder (default: bench-out)")
    add_common_arguments(bench)
    bench.add_argument("--record", metavar="DIR",
                       help="also copy each method's figures to DIR/<method>/results/ (e.g. benchmarks)")
    bench.set_defaults(handler=_bench)

    from methodzoo.shared.data.cli import register as register_data  # lazy: light `import cli`

    register_data(sub)

    for entry in sorted(entry_points(group=METHOD_GROUP), key=lambda e: e.name):
        try:
            register = entry.load()
        except Exception as error:  # keep the CLI usable when one plug-in is broken
            print(f"methodzoo: warning: method {entry.name!r} failed to load: {error}", file=sys.stderr)
            continue
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``methodzoo`` console script."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        handler: Handler = args.handler
        return handler(args)
    except UserError as error:
        print(f"methodzoo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("methodzoo: interrupted", file=sys.stderr)
        return 130


def installed_methods() -> list[dict[str, Any]]:
    from importlib.metadata import version

    methods = []
    for entry in sorted(entry_points(group=METHOD_GROUP), key=lambda e: e.name):
        dist = entry.dist.name if entry.dist is not None else None
        methods.append({"name": entry.name, "distribution": dist,
                        "version": version(dist) if dist else None})
    return methods


def _list(args: argparse.Namespace) -> int:
    methods = installed_methods()
    if args.json:
        print(json.dumps(methods, indent=2))
    elif not methods:
        print("no methods installed (pip install methodzoo-<method>)")
    else:
        for method in methods:
            print(f"{method['name']:<16} {method['distribution']} {method['version']}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from methodzoo.shared.bench import format_summary_table, record_results, run_benchmarks

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    run = run_benchmarks(args.names, profile=args.profile, out_dir=args.out, seed=args.seed,
                         device=args.device, log=log)
    if args.json:
        print(json.dumps(run.summary(), indent=2))
    else:
        print(format_summary_table(run))
        print(f"\nwrote {run.out_dir / 'results.json'} and {run.out_dir / 'report.md'}")
    if args.record:
        for folder in record_results(run, run.benchmarks, args.record, args.profile):
            log(f"recorded {folder}")
    if run.failures:
        log(f"methodzoo: {len(run.failures)} benchmark(s) failed: {', '.join(run.failures)}")
        return 1
    return 0


def emit(result: Any, *, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    """Print a command's result: JSON for machines, ``text(result)`` for people."""
    from methodzoo.shared.io import to_jsonable

    if as_json:
        print(json.dumps(to_jsonable(result), indent=2))
    else:
        print(text(result) if text else result)


if __name__ == "__main__":
    raise SystemExit(main())
