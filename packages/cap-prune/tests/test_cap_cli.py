"""``methodzoo cap-prune finetune|prune|eval`` end to end on a tiny local BERT folder and GLUE TSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from methodzoo.shared.cli import main
from methodzoo.shared.testing.formats import write_glue_tsv

SENTENCES = [("a big dog is running in the park", 1), ("no food and no people", 0),
             ("the cat sits inside", 1), ("a man is not eating", 0), ("two child plays outside", 1),
             ("the red cat is sleeping", 0)]


@pytest.fixture
def workspace(tmp_path: Path, make_hf_bert, tiny_tokenizer) -> Path:
    make_hf_bert(0).save_pretrained(tmp_path / "bert")
    tiny_tokenizer.save_pretrained(tmp_path / "bert")
    rows = [[text, label] for text, label in SENTENCES * 4]
    write_glue_tsv(tmp_path / "glue" / "SST-2" / "train.tsv", ["sentence", "label"], rows)
    write_glue_tsv(tmp_path / "glue" / "SST-2" / "dev.tsv", ["sentence", "label"], rows[:8])
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_finetune_prune_and_eval(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--task", "sst2", "--data-root", str(workspace / "glue"), "--max-length", "12", "--device", "cpu", "--json"]
    teacher = _run(capsys, "cap-prune", "finetune", "--model", str(workspace / "bert"), "--out",
                   str(workspace / "teacher"), "--epochs", "1", "--batch-size", "8", *data)
    assert teacher["steps"] == 3 and 0 <= teacher["accuracy"] <= 1
    assert (workspace / "teacher" / "model.safetensors").is_file()

    pruned = _run(capsys, "cap-prune", "prune", "unstructured", "--teacher", str(workspace / "teacher"),
                  "--out", str(workspace / "pruned"), "--pruner", "movement", "--sparsity", "0.5", "--epochs", "2",
                  "--batch-size", "8", "--bank-size", "8", "--init-from", "finetuned", *data)
    assert pruned["sparsity"] == pytest.approx(0.5, abs=0.01) and pruned["steps"] == 6
    assert {"pre", "fine", "snap", "kd", "ce"} <= set(pruned["last_losses"])

    structured = _run(capsys, "cap-prune", "prune", "structured", "--teacher", str(workspace / "teacher"),
                      "--out", str(workspace / "heads"), "--ratios", "0.5", "--epochs-per-step", "1",
                      "--batch-size", "8", "--bank-size", "8", "--modules", "none", *data)
    assert structured["steps"][0]["heads_kept"] == 4
    assert (workspace / "heads" / "ratio-50" / "model.safetensors").is_file()

    evaluated = _run(capsys, "cap-prune", "eval", "--model", str(workspace / "heads" / "ratio-50"), "--compact", *data)
    assert evaluated["heads_after_compact"] == [2, 2] or sum(evaluated["heads_after_compact"]) == 4
    assert evaluated["accuracy_after_compact"] == pytest.approx(evaluated["accuracy"])
    assert evaluated["parameters_after_compact"] < evaluated["parameters"]
    assert evaluated["compact_alpha"] > 1 and evaluated["compact_flops_compressed"] < evaluated["compact_flops_dense"]
    assert evaluated["compact_delta_b1"] > 0
    sparse = _run(capsys, "cap-prune", "eval", "--model", str(workspace / "pruned"), *data)
    assert sparse["encoder_sparsity"] == pytest.approx(pruned["sparsity"])
    assert sparse["accuracy"] == pytest.approx(pruned["accuracy"])


def test_user_mistakes_are_one_line_errors(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cap-prune", "eval", "--model", str(workspace / "missing"), "--task", "sst2"]) == 2
    assert "no saved model" in capsys.readouterr().err
    assert main(["cap-prune", "finetune", "--model", "no-such-model", "--out", str(workspace / "x")]) == 2
    assert "neither a folder nor a pretrained model" in capsys.readouterr().err
    assert main(["cap-prune", "prune", "unstructured", "--teacher", "t", "--out", "o", "--sparsity", "1.5"]) == 2
    assert "sparsity" in capsys.readouterr().err
