import json

from methodzoo.shared.cli import main

TINY = ["--widths", "8", "16", "--depths", "1", "--budget", "3e7", "--marks", "2", "--length", "12",
        "--vocab-size", "40", "--dropout", "0", "--workers", "1", "--batch-size", "8", "--warmup-steps", "2",
        "--eval-every", "5", "--eval-batches", "1", "--states", "4"]
SMALL_GRID = ["--sparsities", "0.5", "--iterative-sparsities", "0.5", "--bits", "2", "--qat-bits", "2",
              "--finetune-steps", "2", "--prune-rounds", "2", "--no-int8-latency", "--workers", "1"]


def test_sweep_compress_report(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train-large-compress", "sweep", "--out", str(out), *TINY, "--json"]) == 0
    swept = json.loads(capsys.readouterr().out)
    assert {r["label"] for r in swept["runs"]} == {"d8-L1", "d16-L1"}
    assert all(len(r["marks"]) == 2 for r in swept["runs"])

    assert main(["train-large-compress", "compress", "--sweep", str(out), *SMALL_GRID, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["method"] for r in rows} == {"dense", "dense-finetuned", "prune-oneshot", "prune-iterative",
                                           "ptq", "qat"}
    assert (out / "compression.json").is_file()

    assert main(["train-large-compress", "report", "--sweep", str(out)]) == 0
    text = capsys.readouterr().out
    assert "claim 1" in text and "claim 2" in text and "d16-L1" in text
    assert (out / "convergence.png").is_file() and (out / "compression.png").is_file()
    assert main(["train-large-compress", "report", "--sweep", str(out), "--json", "--target", "10"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["target"] == 10 and all(r["steps"][0] == 0 for r in report["convergence"])


def test_user_mistakes_are_one_line_errors(tmp_path, capsys) -> None:
    assert main(["train-large-compress", "report", "--sweep", str(tmp_path)]) == 2
    assert "no sweep results" in capsys.readouterr().err
    assert main(["train-large-compress", "sweep", "--out", str(tmp_path), "--widths", "48", "--heads", "5"]) == 2
    assert main(["train-large-compress", "sweep", "--out", str(tmp_path), "--data", "folder"]) == 2
    assert "data_root" in capsys.readouterr().err
