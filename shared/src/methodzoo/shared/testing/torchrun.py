"""Run a command under ``torchrun`` on CPU (gloo) for multi-process tests.

:func:`run_torchrun` launches ``python -m torch.distributed.run`` on a free local port with CUDA
hidden. Launching this module (``-m methodzoo.shared.testing.torchrun LOG_DIR METHOD ARGS...``)
runs ``methodzoo METHOD ARGS...`` while recording, for each rank, the checkpoints the core Trainer
writes in ``LOG_DIR/checkpoint-writes-rank<R>.txt`` (one step per line), so a test can check
which processes wrote. It registers only ``METHOD``'s commands, so each process skips importing
the other methods.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_torchrun(arguments: Sequence[str], *, processes: int = 2, timeout: float = 120.0,
                 cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
    """``torchrun --nproc-per-node processes ARGUMENTS`` on CPU; returns the finished process.

    ``arguments`` is what follows torchrun's own options: a script and its arguments, or
    ``-m module ...``. Progress bars are off and each process uses one thread.
    """
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1", METHODZOO_PROGRESS="0")
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc-per-node", str(processes), "--master-addr", "127.0.0.1",
               "--master-port", str(free_port()), *arguments]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout,
                          check=False)


def _record_checkpoint_writes(log_dir: Path) -> None:
    from methodzoo.shared.train import loop

    log = log_dir / f"checkpoint-writes-rank{os.environ.get('RANK', '0')}.txt"
    log.write_text("")
    original = loop.save_checkpoint

    def recording_save(folder: Any, step: int, *args: Any, **kwargs: Any) -> Path:
        with log.open("a") as handle:
            handle.write(f"{step}\n")
        return original(folder, step, *args, **kwargs)

    loop.save_checkpoint = recording_save


def main(argv: Sequence[str] | None = None) -> int:
    """``LOG_DIR METHOD ARGS...``: run ``methodzoo METHOD ARGS...`` recording checkpoint writes."""
    import argparse
    from importlib.metadata import entry_points

    from methodzoo.shared.cli import METHOD_GROUP
    from methodzoo.shared.errors import UserError

    log_dir, method, *rest = list(sys.argv[1:] if argv is None else argv)
    _record_checkpoint_writes(Path(log_dir))
    parser = argparse.ArgumentParser(prog="methodzoo")
    commands = parser.add_subparsers(dest="command", required=True)
    (entry,) = entry_points(group=METHOD_GROUP, name=method)
    entry.load()(commands)
    args = parser.parse_args([method, *rest])
    try:
        return int(args.handler(args))
    except UserError as error:
        print(f"methodzoo: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
