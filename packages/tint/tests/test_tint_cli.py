"""The ``methodzoo tint`` commands, through the core CLI."""

from __future__ import annotations

import json

from methodzoo.shared.cli import main


def test_count_json(capsys):
    assert main(["tint", "count", "--preset", "opt-125m", "--rows-per-prefix", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["aux_params"] == 125_239_296
    assert result["hidden_H"] == 768 * 3 and result["prefixes_K"] == 384
    assert 1e8 < result["tint_params"] < 2e9


def test_eval_tiny_run(capsys):
    code = main(["tint", "eval", "--pretrain-steps", "3", "--sequences", "2", "--length", "16",
                 "--reference-sequences", "1", "--learning-rate", "1e-3", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sequences"] == 2 and result["eval_tokens"] == 16
    assert result["max_abs_err_vs_reference"] < 1e-3
    assert result["ppl_before"] > 1 and result["ppl_after"] > 1


def test_user_errors_exit_2(capsys):
    assert main(["tint", "count", "--rows-per-prefix", "5"]) == 2
    assert "must divide" in capsys.readouterr().err
    assert main(["tint", "eval", "--train-fraction", "1.5"]) == 2
    assert main(["tint", "eval", "--model-dir", "/nonexistent/folder"]) == 2

