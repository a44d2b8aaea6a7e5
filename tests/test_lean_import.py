"""Importing the core or any method package downloads nothing and never initialises CUDA."""

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points

METHODS = sorted({e.value.split(".cli")[0] for e in entry_points(group="methodzoo.methods")})

PROBE = textwrap.dedent(
    """
    import socket, sys
    def refuse(*args, **kwargs):
        raise AssertionError("network access during import")
    socket.socket.connect = refuse
    socket.create_connection = refuse
    import importlib
    for name in sys.argv[1:]:
        importlib.import_module(name)
    import torch
    assert not torch.cuda.is_initialized(), "CUDA was initialised at import"
    print("ok")
    """
)


def test_imports_are_lean():
    # One fresh interpreter for all packages: torch's import dominates the cost.
    modules = ["methodzoo.shared", "methodzoo.shared.cli", "methodzoo.shared.bench", *METHODS]
    completed = subprocess.run([sys.executable, "-c", PROBE, *modules], capture_output=True, text=True,
                               timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.strip() == "ok"
