"""Each method package installs from a folder of wheels into a fresh environment, alone, and
imports there (slow: it builds every wheel and installs torch into new environments)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHODS = sorted(p.parent.name for p in (ROOT / "packages").glob("*/pyproject.toml"))


@pytest.fixture(scope="module")
def wheel_folder(tmp_path_factory) -> Path:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([uv, "build", "--all-packages", "--wheel", "--out-dir", str(out)], cwd=ROOT,
                   check=True, capture_output=True, timeout=600)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_method_installs_and_imports_alone(method, wheel_folder, tmp_path):
    uv = shutil.which("uv")
    assert uv is not None
    env = tmp_path / "venv"
    subprocess.run([uv, "venv", "--python", "3.11", str(env)], check=True, capture_output=True)
    python = env / "bin" / "python"
    install = subprocess.run([uv, "pip", "install", "--python", str(python), "--find-links", str(wheel_folder),
                              f"methodzoo-{method}"], capture_output=True, text=True, timeout=900, check=False)
    assert install.returncode == 0, install.stderr[-3000:]
    module = f"methodzoo.{method.replace('-', '_')}"
    probe = subprocess.run([str(python), "-c", f"import {module}; print(sorted({module}.__all__)[:1])"],
                           capture_output=True, text=True, timeout=300, check=False)
    assert probe.returncode == 0, probe.stderr[-3000:]
    listing = subprocess.run([str(env / "bin" / "methodzoo"), "list", "--json"], capture_output=True,
                             text=True, timeout=300, check=False)
    assert listing.returncode == 0 and f'"{method}"' in listing.stdout, listing.stderr[-2000:]
