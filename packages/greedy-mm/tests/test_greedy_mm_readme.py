"""The README's API example runs as written."""

from __future__ import annotations

import math
import re
from pathlib import Path


def test_readme_example_runs(capsys) -> None:  # type: ignore[no-untyped-def]
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    accuracy, d_util, d_speed = (float(v) for v in capsys.readouterr().out.split())
    assert 0.0 <= accuracy <= 1.0
    assert math.isfinite(d_util) and math.isfinite(d_speed)
