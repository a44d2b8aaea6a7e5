"""The README's example runs as written and prints what it says."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.filterwarnings("ignore::methodzoo.graphrank.SmallSampleWarning")
def test_readme_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "no python example in the README"
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(blocks[0], str(README), "exec"), {})
    lines = output.getvalue().splitlines()
    assert lines[-1] == "True"
    statistic, asymptotic, permutation = (float(v) for v in lines[0].split())
    assert statistic > 0 and 0 <= asymptotic <= 1 and 0 < permutation <= 1
