"""The README's API example runs as written."""

import re
from pathlib import Path


def test_readme_example_runs(tmp_path, monkeypatch, capsys) -> None:
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no python example"
    monkeypatch.chdir(tmp_path)  # the example writes its runs under ./runs
    exec(compile(blocks[0], "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out.split("\n")
    assert printed[0].startswith("target loss")
    assert (tmp_path / "runs" / "readme" / "sweep.json").is_file()
