"""The README's API example runs as written."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    namespace: dict[str, object] = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    printed = capsys.readouterr().out.split()
    assert 0.0 <= float(printed[0]) <= 1.0  # best accuracy
    assert float(printed[1]) > 0  # meta-step milliseconds
