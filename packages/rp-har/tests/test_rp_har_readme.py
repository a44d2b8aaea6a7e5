"""The README's API example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

import torch


def test_readme_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: one thread is faster
    try:
        namespace: dict[str, object] = {}
        exec(compile(blocks[0], "README.md", "exec"), namespace)
    finally:
        torch.set_num_threads(threads)
    assert tuple(namespace["plots"].shape) == (8, 3, 127, 127)  # type: ignore[attr-defined]
    assert tuple(namespace["images"].shape) == (8, 6, 64, 64)  # type: ignore[attr-defined]
    validation, test = (float(v) for v in capsys.readouterr().out.split())
    assert 0.0 <= validation <= 1.0 and 0.0 <= test <= 1.0
