"""``methodzoo graphrank test``: the RISE two-sample test from files.

Inputs, one of:

* ``X Y``: two samples (rows are observations);
* ``--data Z --labels L``: one pooled sample and its group vector;
* ``--distances D --labels L`` or ``--similarities S --labels L``: a precomputed (N, N) matrix.

Tables are ``.csv`` (comma-separated numbers; one header line is skipped when it is not numeric)
or ``.npy``. Label and strata files are ``.npy`` or text with one value per line (numbers or
names, no header). ``--metric`` picks the distance for points, ``--strata`` permutes labels only
within strata, ``--save-ranks R.npz`` writes the graph and ranks used. User mistakes give one
line on stderr and exit status 2.
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


def read_vector(path: str | Path, what: str) -> np.ndarray:
    """Read a 1-D vector of labels or strata: ``.npy``, or text with one value per line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"cannot read {path}: no such file")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UserError(f"cannot read {path}: {str(error).splitlines()[0]}") from error
        array = array.reshape(-1) if array.ndim == 2 and 1 in array.shape else array
    else:
        with open(path, encoding="utf-8") as handle:
            values = [line.strip() for line in handle if line.strip()]
        array = _as_numbers(values)
    if array.ndim != 1 or array.size == 0:
        raise UserError(f"{path} must hold a non-empty vector of {what} (one per observation), "
                        f"got shape {array.shape}")
    return array


def _as_numbers(values: list[str]) -> np.ndarray:
    """Numbers when every value parses as one (so "1" and "1.0" agree), else the strings."""
    try:
        return np.array([float(v) for v in values])
    except ValueError:
        return np.array(values)


def _format(result: dict[str, Any]) -> str:
    lines = [f"RISE two-sample test (rank={result['rank']}, graph={result['graph']}, k={result['k']}, "
             f"metric={result['metric']})",
             f"  m = {result['m']}, n = {result['n']}",
             f"  statistic T = {result['statistic']:.6g}"]
    if result["pvalue_asymptotic"] is not None:
        lines.append(f"  p-value (chi-square, 2 df) = {result['pvalue_asymptotic']:.6g}")
    if result["pvalue_permutation"] is not None:
        within = f" within {result['strata']} strata" if result.get("strata") else ""
        lines.append(f"  p-value ({result['permutations']} permutations{within}) = "
                     f"{result['pvalue_permutation']:.6g}")
    lines += [f"  U = ({result['u'][0]:.6g}, {result['u'][1]:.6g}), "
              f"E U = ({result['mean'][0]:.6g}, {result['mean'][1]:.6g})"]
    if result.get("ranks_file"):
        lines.append(f"  graph and ranks written to {result['ranks_file']}")
    if result.get("warning"):
        lines.append(f"  warning: {result['warning']}")
    return "\n".join(lines)


def _inputs(args: argparse.Namespace) -> tuple[Any, Any, Any, str]:
    """(x, y, labels, metric) for :meth:`RISE.test` from the input flags, checked for one mode."""
    matrices = [flag for flag in ("data", "distances", "similarities") if getattr(args, flag) is not None]
    two_samples = args.x is not None or args.y is not None
    if two_samples and (matrices or args.labels is not None):
        raise UserError("give either two sample files X Y, or --data/--distances/--similarities with "
                        "--labels, not both")
    if two_samples:
        if args.x is None or args.y is None:
            raise UserError("give two sample files X Y (or one pooled input with --labels)")
        return read_matrix(args.x), read_matrix(args.y), None, args.metric
    if len(matrices) != 1:
        raise UserError("give one input: two sample files X Y, or exactly one of --data, --distances, "
                        "--similarities (each with --labels)")
    if args.labels is None:
        raise UserError(f"--{matrices[0]} needs --labels FILE: the group of each observation")
    source = matrices[0]
    if source != "data" and args.metric != "euclidean":
        raise UserError(f"--metric does not apply to --{source}: the matrix already holds the "
                        "dissimilarities")
    pooled = read_matrix(getattr(args, source))
    labels = read_vector(args.labels, "labels")
    if source != "data" and pooled.shape[0] != pooled.shape[1]:
        raise UserError(f"--{source} must be a square (N, N) matrix, got shape {pooled.shape}")
    if labels.shape[0] != pooled.shape[0]:
        raise UserError(f"--labels has {labels.shape[0]} entries but --{source} has {pooled.shape[0]} rows")
    metric = {"data": args.metric, "distances": "precomputed", "similarities": "similarity"}[source]
    return pooled, None, labels, metric


def _test(args: argparse.Namespace) -> int:
    from methodzoo.graphrank.rise import RISE
    from methodzoo.graphrank.storage import save_ranks

    x, y, labels, metric = _inputs(args)
    strata = read_vector(args.strata, "strata") if args.strata is not None else None
    if args.save_ranks is not None and Path(args.save_ranks).suffix.lower() != ".npz":
        raise UserError(f"--save-ranks must name a .npz file, got {args.save_ranks}")
    config = RiseConfig.from_args(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = RISE(config).test(x, y, labels=labels, metric=metric, generator=args.seed, strata=strata)
    summary = result.to_dict()
    summary["metric"] = metric
    summary.setdefault("strata", None)
    summary["ranks_file"] = str(save_ranks(args.save_ranks, result)) if args.save_ranks else None
    messages = [str(w.message) for w in caught]
    summary["warning"] = messages[0] if messages else None
    emit(summary, as_json=args.json, text=_format)
    return 0


def register(subparsers: Any) -> None:
    """Add ``methodzoo graphrank ...`` to the core CLI."""
    from methodzoo.graphrank.graphs import METRIC_NAMES

    parser = subparsers.add_parser("graphrank", help="graph-based rank two-sample test (RISE, COLT 2023)")
    commands = parser.add_subparsers(dest="graphrank_command", metavar="COMMAND",
                                     parser_class=type(parser))
    commands.required = True
    test = commands.add_parser("test", help="test whether two samples differ (CSV or .npy files)")
    test.add_argument("x", nargs="?", help="first sample: .csv or .npy, rows are observations")
    test.add_argument("y", nargs="?", help="second sample: .csv or .npy, same number of columns")
    inputs = test.add_argument_group("one pooled sample instead of X Y (each needs --labels)")
    inputs.add_argument("--data", help="pooled points (N, d): .csv or .npy")
    inputs.add_argument("--distances", help="precomputed (N, N) distance matrix: symmetric, finite, zero diagonal")
    inputs.add_argument("--similarities", help="precomputed (N, N) similarity matrix (larger = more similar)")
    inputs.add_argument("--labels", help="group of each observation (two distinct values): .npy or one per line")
    test.add_argument("--metric", default="euclidean",
                      help=f"distance between points: {', '.join(METRIC_NAMES)} (default: euclidean; "
                           "euclidean and sqeuclidean use the blocked k-NN search, others an N x N matrix)")
    test.add_argument("--strata", help="stratum of each observation (.npy or one per line): permute labels "
                                       "only within strata (needs --permutations)")
    test.add_argument("--save-ranks", dest="save_ranks", metavar="PATH.npz",
                      help="write the graph (edge list) and the sparse rank matrix used to this .npz file")
    RiseConfig.add_arguments(test, exclude=("block_rows", "device"))
    add_common_arguments(test)  # --seed: of the permutations; --device: of the Euclidean k-NN search
    test.set_defaults(handler=_test)
