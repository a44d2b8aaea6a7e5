"""The README's API example runs as written."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    lines = capsys.readouterr().out.strip().splitlines()
    assert 0 < float(lines[0]) <= 30.0 + 1e-4  # |rotation| of a* stays in the ±30° range
    clean, shift, worst = (float(v) for v in lines[-1].split())
    assert clean > 0.6 and 0 <= worst <= shift <= clean  # trained well above chance on 500 digits
