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


@pytest.fixture
def pooled_files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    points = np.concatenate([rng.normal(size=(30, 4)), 1.4 * rng.normal(size=(34, 4))])  # (64, 4)
    groups = np.where(np.arange(64) < 30, "case", "control")  # "case" sorts first: the first sample
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    paths = {name: tmp_path / name for name in ("points.npy", "labels.txt", "labels.npy", "d.npy", "s.csv",
                                                "strata.txt", "asym.npy", "diag.npy", "inf.npy", "short.txt",
                                                "rect.npy")}
    np.save(paths["points.npy"], points)
    paths["labels.txt"].write_text("\n".join(groups) + "\n")
    np.save(paths["labels.npy"], np.arange(64) < 30)
    np.save(paths["d.npy"], distances)
    np.savetxt(paths["s.csv"], np.exp(-distances), delimiter=",")
    paths["strata.txt"].write_text("\n".join(str(i % 2) for i in range(64)) + "\n")
    asymmetric = distances.copy()
    asymmetric[0, 1] += 1.0
    np.save(paths["asym.npy"], asymmetric)
    np.save(paths["diag.npy"], distances + np.eye(64))
    infinite = distances.copy()
    infinite[2, 3] = infinite[3, 2] = np.inf
    np.save(paths["inf.npy"], infinite)
    paths["short.txt"].write_text("\n".join(groups[:60]) + "\n")
    np.save(paths["rect.npy"], distances[:, :60])
    return paths


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["graphrank", "test", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_pooled_inputs_matrices_and_metric_match_the_api(pooled_files: dict[str, Path],
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    f = {name: str(path) for name, path in pooled_files.items()}
    points = np.load(f["points.npy"])
    labels = np.arange(64) < 30
    expected = rise_test(points[:30], points[30:], k=5)
    for argv in (["--data", f["points.npy"], "--labels", f["labels.txt"]],
                 ["--data", f["points.npy"], "--labels", f["labels.npy"]],
                 ["--distances", f["d.npy"], "--labels", f["labels.txt"]],
                 ["--similarities", f["s.csv"], "--labels", f["labels.npy"]]):
        printed = run_json([*argv, "--k", "5"], capsys)
        assert printed["statistic"] == pytest.approx(expected.statistic, rel=1e-9), argv
        assert (printed["m"], printed["n"]) == (30, 34)
    printed = run_json(["--data", f["points.npy"], "--labels", f["labels.txt"], "--metric", "cosine",
                        "--k", "5"], capsys)
    assert printed["metric"] == "cosine"
    assert printed["statistic"] == pytest.approx(rise_test(points, labels=labels, k=5, metric="cosine").statistic,
                                                 rel=1e-9)


def test_strata_and_saved_ranks(pooled_files: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                tmp_path: Path) -> None:
    from methodzoo.graphrank import load_ranks

    f = {name: str(path) for name, path in pooled_files.items()}
    out = tmp_path / "ranks.npz"
    printed = run_json(["--distances", f["d.npy"], "--labels", f["labels.txt"], "--strata", f["strata.txt"],
                        "--permutations", "99", "--save-ranks", str(out), "--k", "5"], capsys)
    expected = rise_test(np.load(f["d.npy"]), labels=np.arange(64) < 30, metric="precomputed", k=5,
                         strata=np.arange(64) % 2, permutations=99, generator=0)
    assert printed["strata"] == 2 and printed["pvalue_asymptotic"] is None
    assert printed["pvalue_permutation"] == pytest.approx(expected.pvalue_permutation)
    saved = load_ranks(printed["ranks_file"])
    assert (saved.ranks != expected.ranks).nnz == 0 and saved.graph is not None
    assert main(["graphrank", "test", "--distances", f["d.npy"], "--labels", f["labels.txt"], "--strata",
                 f["strata.txt"], "--permutations", "99"]) == 0
    assert "within 2 strata" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--distances", "asym.npy", "--labels", "labels.txt"], "symmetric"),
        (["--distances", "diag.npy", "--labels", "labels.txt"], "zero diagonal"),
        (["--distances", "inf.npy", "--labels", "labels.txt"], "infinite"),
        (["--distances", "rect.npy", "--labels", "labels.txt"], "square"),
        (["--distances", "d.npy", "--labels", "short.txt"], "--labels has 60 entries but --distances has 64"),
        (["--distances", "d.npy"], "needs --labels"),
        (["--distances", "d.npy", "--labels", "labels.txt", "--metric", "cosine"], "does not apply"),
        (["--data", "points.npy", "--labels", "labels.txt", "--metric", "manhatan"], "unknown metric"),
        (["--data", "points.npy", "--distances", "d.npy", "--labels", "labels.txt"], "exactly one of"),
        (["--distances", "d.npy", "--labels", "labels.txt", "--strata", "strata.txt"], "needs permutations"),
        (["--distances", "d.npy", "--labels", "labels.txt", "--save-ranks", "ranks.txt"], ".npz"),
        (["--distances", "d.npy", "--labels", "strata.txt", "--strata", "strata.txt", "--permutations", "9"],
         "both samples"),
    ],
)
def test_bad_pooled_input_is_one_line_and_exit_2(pooled_files: dict[str, Path], capsys: pytest.CaptureFixture[str],
                                                 argv: list[str], message: str) -> None:
    resolved = [str(pooled_files[a]) if a in pooled_files else a for a in argv]
    code = main(["graphrank", "test", *resolved])
    err = capsys.readouterr().err
    assert code == 2
    error_lines = [line for line in err.splitlines() if line.startswith("methodzoo: error")]
    assert len(error_lines) == 1 and message in error_lines[0], err
    assert "Traceback" not in err
