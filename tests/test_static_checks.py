"""The core type-checks with mypy and the workspace passes ruff (configured in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_mypy_passes_on_the_core():
    if shutil.which("mypy") is None and _run("mypy", "--version").returncode != 0:
        pytest.skip("mypy is not installed (dev dependency group)")
    completed = _run("mypy")
    assert completed.returncode == 0, completed.stdout[-4000:]


def test_ruff_passes():
    if _run("ruff", "--version").returncode != 0:
        pytest.skip("ruff is not installed (dev dependency group)")
    completed = _run("ruff", "check", "shared", "tests", "packages")
    assert completed.returncode == 0, completed.stdout[-4000:]
