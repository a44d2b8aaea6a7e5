"""``methodzoo graphrank test X Y``: the RISE two-sample test on two data files.

Files are ``.csv`` (comma-separated numbers, rows are observations; one header line is skipped
when it is not numeric) or ``.npy``. User mistakes give one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from methodzoo.graphrank.config import RiseConfig
from methodzoo.shared.cli import add_common_arguments, emit
from methodzoo.shared.errors import UserError


def read_matrix(path: str | Path) -> np.ndarray:
    """Read a (rows, features) float array from ``.npy`` or ``.csv``; raise :class:`UserError`."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"cannot read {path}: no such file")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            array = _read_csv(path)
        array = np.asarray(array, dtype=np.float64)
    except UserError:
        raise
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read {path}: {str(error).splitlines()[0] if str(error) else error}") from error
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.size == 0:
        raise UserError(f"{path} must hold a non-empty 2-D table (rows are observations), got shape {array.shape}")
    return array


def _read_csv(path: Path) -> np.ndarray:
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    skip = 0
    try:
        [float(v) for v in first.strip().split(",") if v.strip()]
    except ValueError:
        skip = 1  # a header line
    return np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)


def _format(result: dict[str, Any]) -> str:
    lines = [f"RISE two-sample test (rank={result['rank']}, graph={result['graph']}, k={result['k']})",
             f"  m = {result['m']}, n = {result['n']}",
             f"  statistic T = {result['statistic']:.6g}",
             f"  p-value (chi-square, 2 df) = {result['pvalue_asymptotic']:.6g}"]
    if result["pvalue_permutation"] is not None:
        lines.append(f"  p-value ({result['permutations']} permutations) = {result['pvalue_permutation']:.6g}")
    lines += [f"  U = ({result['u'][0]:.6g}, {result['u'][1]:.6g}), "
              f"E U = ({result['mean'][0]:.6g}, {result['mean'][1]:.6g})"]
    if result.get("warning"):
        lines.append(f"  warning: {result['warning']}")
    return "\n".join(lines)


def _test(args: argparse.Namespace) -> int:
    from methodzoo.graphrank.rise import RISE

    x = read_matrix(args.x)
    y = read_matrix(args.y)
    config = RiseConfig.from_args(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = RISE(config).test(x, y, generator=args.seed)
    summary = result.to_dict()
    messages = [str(w.message) for w in caught]
    summary["warning"] = messages[0] if messages else None
    emit(summary, as_json=args.json, text=_format)
    return 0


def register(subparsers: Any) -> None:
    """Add ``methodzoo graphrank ...`` to the core CLI."""
    parser = subparsers.add_parser("graphrank", help="graph-based rank two-sample test (RISE, COLT 2023)")
    commands = parser.add_subparsers(dest="graphrank_command", metavar="COMMAND",
                                     parser_class=type(parser))
    commands.required = True
    test = commands.add_parser("test", help="test whether two samples (CSV or .npy files) differ")
    test.add_argument("x", help="first sample: .csv or .npy, rows are observations")
    test.add_argument("y", help="second sample: .csv or .npy, same number of columns")
    RiseConfig.add_arguments(test, exclude=("block_rows", "device"))
    add_common_arguments(test)  # --seed: of the permutations; --device: of the Euclidean k-NN search
    test.set_defaults(handler=_test)
