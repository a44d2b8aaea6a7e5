"""Every workspace member builds a wheel whose metadata names methodzoo-shared as a plain
dependency (so `pip install methodzoo-<method>` works from an index or a folder of wheels)."""

import shutil
import subprocess
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MEMBERS = ["shared", *sorted(p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml"))]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    out = tmp_path_factory.mktemp("dist")
    completed = subprocess.run([uv, "build", "--all-packages", "--wheel", "--out-dir", str(out)],
                               cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return {p.name.split("-")[0]: p for p in out.glob("*.whl")}


def _metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode()), archive.namelist()


def test_one_wheel_per_member(wheels):
    expected = {"methodzoo_shared"} | {f"methodzoo_{m.replace('-', '_')}" for m in MEMBERS if m != "shared"}
    assert set(wheels) == expected


def test_method_wheels_require_methodzoo_shared_by_name(wheels):
    for name, wheel in wheels.items():
        metadata, files = _metadata(wheel)
        assert "methodzoo/__init__.py" not in files, f"{name} ships methodzoo/__init__.py"
        assert any(f.endswith("py.typed") for f in files), f"{name} lacks py.typed"
        if name == "methodzoo_shared":
            continue
        requires = metadata.get_all("Requires-Dist") or []
        shared = [r for r in requires if r.split(";")[0].replace(" ", "").startswith("methodzoo-shared")]
        assert shared, f"{name} does not require methodzoo-shared: {requires}"
        assert all("@" not in r and "file:" not in r for r in shared), shared
        entry_points = [f for f in files if f.endswith("entry_points.txt")]
        assert entry_points, f"{name} registers no entry points"
