"""``methodzoo graphrank test``: text and JSON output, CSV and .npy input, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from methodzoo.graphrank import rise_test
from methodzoo.shared.cli import main


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    y = rng.normal(size=(45, 3)) * 1.5
    paths = {"x_csv": tmp_path / "x.csv", "y_npy": tmp_path / "y.npy", "y_csv": tmp_path / "y.csv",
             "wide": tmp_path / "wide.csv", "nan": tmp_path / "nan.csv", "tiny": tmp_path / "tiny.csv",
             "text": tmp_path / "text.csv", "header": tmp_path / "header.csv"}
    np.savetxt(paths["x_csv"], x, delimiter=",")
    np.save(paths["y_npy"], y)
    np.savetxt(paths["y_csv"], y, delimiter=",")
    np.savetxt(paths["header"], y, delimiter=",", header="a,b,c", comments="")
    np.savetxt(paths["wide"], rng.normal(size=(40, 4)), delimiter=",")
    bad = x.copy()
    bad[3, 1] = np.nan
    np.savetxt(paths["nan"], bad, delimiter=",")
    np.savetxt(paths["tiny"], x[:3], delimiter=",")
    paths["text"].write_text("1,2,3\n4,five,6\n")
    return paths


def test_json_output_matches_the_api(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["graphrank", "test", str(files["x_csv"]), str(files["y_npy"]), "--k", "5",
                 "--rank", "overall", "--graph", "mst", "--permutations", "99", "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    x = np.loadtxt(files["x_csv"], delimiter=",")
    y = np.load(files["y_npy"])
    expected = rise_test(x, y, k=5, rank="overall", graph="mst", permutations=99, generator=0)
    assert printed["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert printed["pvalue_permutation"] == pytest.approx(expected.pvalue_permutation)
    assert printed["rank"] == "overall" and printed["graph"] == "mst" and printed["k"] == 5


def test_text_output_and_csv_header(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graphrank", "test", str(files["x_csv"]), str(files["y_csv"])]) == 0
    text = capsys.readouterr().out
    assert "statistic T" in text and "p-value (chi-square, 2 df)" in text
    assert main(["graphrank", "test", str(files["x_csv"]), str(files["header"]), "--json"]) == 0
    with_header = json.loads(capsys.readouterr().out)
    assert main(["graphrank", "test", str(files["x_csv"]), str(files["y_csv"]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["statistic"] == with_header["statistic"]


@pytest.mark.parametrize(
    ("which", "extra", "message"),
    [
        ("wide", [], "same number of features"),
        ("nan", [], "NaN"),
        ("tiny", [], "at least 4"),
        ("text", [], "cannot read"),
        ("missing", [], "no such file"),
        ("y_csv", ["--k", "85"], "k must be"),
        ("y_csv", ["--rank", "depth"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(files: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                          which: str, extra: list[str], message: str) -> None:
    second = str(files[which]) if which in files else str(files["x_csv"].parent / "missing.csv")
    code = main(["graphrank", "test", str(files["x_csv"]), second, *extra])
    assert code == 2
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("methodzoo: error")]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert "Traceback" not in err
