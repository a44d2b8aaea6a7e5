import random

import pytest
import torch

from methodzoo.shared.errors import UserError
from methodzoo.shared.train import load_weights
from methodzoo.train_large_compress.config import (
    LanguageConfig,
    ModelConfig,
    SweepConfig,
    TrainConfig,
)
from methodzoo.train_large_compress.flops import training_step_flops
from methodzoo.train_large_compress.models import MaskedLanguageModel
from methodzoo.train_large_compress.runner import (
    MarkCheckpoint,
    RunSpec,
    SweepResult,
    grid,
    run_one,
    select_checkpoint,
    sweep,
)
from methodzoo.train_large_compress.synthetic import SyntheticLanguage

TRAIN = TrainConfig(batch_size=8, warmup_steps=2, eval_every=4, eval_batches=1, lr=3e-3)


def _sweep(**changes: object) -> SweepConfig:
    base = dict(widths=(8, 16), depths=(1,), budget=1.2e8, marks=3, length=12, vocab_size=40, dropout=0.0, workers=1)
    base.update(changes)
    return SweepConfig(**base)  # type: ignore[arg-type]


def _mark(index: int, flops: float, seconds: float) -> MarkCheckpoint:
    return MarkCheckpoint(index, 0.0, index, flops, seconds, 1.0, "")


def test_selector_never_exceeds_the_budget_and_takes_the_nearest() -> None:
    rng = random.Random(0)
    for _ in range(300):
        marks = [_mark(i, rng.uniform(0, 100), rng.uniform(0, 10)) for i in range(rng.randint(1, 6))]
        for unit, scale in (("flops", 100), ("seconds", 10)):
            budget = rng.uniform(0, 1.2 * scale)
            within = [m for m in marks if m.compute(unit) <= budget]
            if not within:
                with pytest.raises(UserError, match="no checkpoint within"):
                    select_checkpoint(marks, budget, unit)
                continue
            chosen = select_checkpoint(marks, budget, unit)
            assert chosen.compute(unit) <= budget
            assert chosen.compute(unit) == max(m.compute(unit) for m in within)


def test_flop_budget_sweep_keeps_marks_within_budget(tmp_path) -> None:
    config = _sweep()
    result = sweep(config, TRAIN, tmp_path)
    assert len(result.runs) == 2
    for run in result.runs:
        size = ModelConfig.from_dict(run.model)
        assert run.flops_per_step == training_step_flops(size, "mlm", 8, 12, 11)
        assert run.steps == int(config.budget // run.flops_per_step)
        assert run.steps * run.flops_per_step <= config.budget
        assert [m.budget for m in run.marks] == config.mark_budgets()
        for mark in run.marks:
            assert mark.flops <= mark.budget < mark.flops + run.flops_per_step
            model = MaskedLanguageModel(size)
            meta = load_weights(mark.path, model)
            assert int(meta["step"]) == mark.step
        steps = [e.step for e in run.evaluations]
        assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == run.steps
    # the cheaper size takes more steps for the same FLOPs
    small, large = (min(result.runs, key=lambda r: r.flops_per_step), max(result.runs, key=lambda r: r.flops_per_step))
    assert small.steps > large.steps
    loaded = SweepResult.load(tmp_path)
    assert loaded.runs[0].marks == result.runs[0].marks and loaded.labels() == ["d8-L1", "d16-L1"]


def test_seconds_budget_checkpoints_before_the_step_that_would_cross_a_mark(tmp_path, monkeypatch) -> None:
    from methodzoo.train_large_compress import runner

    ticks = iter(range(10_000))
    monkeypatch.setattr(runner, "clock", lambda: 0.125 * next(ticks))  # every step takes 0.125 s
    config = _sweep(widths=(8,), unit="seconds", budget=1.0, marks=2)
    run = sweep(config, TRAIN.replace(max_steps=10_000), tmp_path).runs[0]
    assert [(m.step, m.seconds) for m in run.marks] == [(4, 0.5), (8, 1.0)]
    assert run.steps == 8 and run.seconds == 1.0


def test_seconds_budget_on_the_real_clock_never_exceeds_a_mark(tmp_path) -> None:
    config = _sweep(widths=(8,), unit="seconds", budget=1.5, marks=3)
    run = sweep(config, TRAIN.replace(max_steps=10_000), tmp_path).runs[0]
    assert run.marks
    for mark in run.marks:
        assert mark.seconds <= mark.budget
    assert all(a.seconds <= b.seconds for a, b in zip(run.evaluations, run.evaluations[1:], strict=False))


def test_training_goes_below_the_context_free_loss(tmp_path) -> None:
    language = LanguageConfig(vocab_size=40, length=12, states=4, topics=1, zipf_exponent=1.5)
    config = _sweep(widths=(32,), budget=1.5e9, marks=1)
    run = sweep(config, TRAIN.replace(batch_size=16, eval_batches=4), tmp_path, language=language).runs[0]
    first, last = run.evaluations[0].val_loss, run.evaluations[-1].val_loss
    ceiling = SyntheticLanguage(language).unigram_entropy()
    assert first > ceiling + 0.2 and last < ceiling, (first, last, ceiling)


def test_resume_continues_the_same_run(tmp_path) -> None:
    config = _sweep(widths=(8,), budget=4e7)
    whole = sweep(config, TRAIN, tmp_path / "whole").runs[0]
    language = LanguageConfig(vocab_size=40, length=12)
    size = grid(config)[0]
    half = config.replace(budget=config.budget / 2)
    first = run_one(RunSpec(size, TRAIN, half, language, 0, str(tmp_path / "parts"), checkpoint_every=1))
    resumed = run_one(RunSpec(size, TRAIN, config, language, 0, str(tmp_path / "parts"), resume=True))
    assert first.steps < resumed.steps == whole.steps
    assert resumed.evaluations[-1].val_loss == pytest.approx(whole.evaluations[-1].val_loss, abs=1e-5)


def test_a_budget_below_one_step_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(UserError, match="less than one training step"):
        sweep(_sweep(budget=10.0), TRAIN, tmp_path)


def test_grid_is_every_width_with_every_depth_cheapest_first() -> None:
    sizes = grid(SweepConfig(widths=(64, 32), depths=(2, 1)))
    assert [s.label for s in sizes] == ["d32-L1", "d32-L2", "d64-L1", "d64-L2"]
    assert torch.tensor([training_step_flops(s, "mlm", 1, 64) for s in sizes]).diff().gt(0).all()


def test_a_folder_of_plain_text_trains_with_a_tokenizer_trained_here(tmp_path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    words = ["the", "cat", "dog", "sat", "ran", "on", "a", "mat", "rug", "fast", "slowly", "home"]
    rng = random.Random(0)
    (corpus / "text.txt").write_text("\n".join(" ".join(rng.choice(words) for _ in range(8)) for _ in range(400)))
    config = _sweep(widths=(8,), data="folder", data_root=str(corpus), vocab_size=300, budget=3e7, marks=1)
    result = sweep(config, TRAIN, tmp_path / "out")
    run = result.runs[0]
    assert (tmp_path / "out" / "tokenizer.json").is_file() and (tmp_path / "out" / "corpus.safetensors").is_file()
    assert run.model["vocab_size"] < 300  # the tokenizer's own vocabulary (the text has few words)
    assert run.epochs_seen > 0 and run.evaluations[-1].val_loss < run.evaluations[0].val_loss


def test_the_encoder_decoder_trains_and_compresses_through_the_same_runner(tmp_path) -> None:
    from methodzoo.train_large_compress.config import CompressConfig
    from methodzoo.train_large_compress.study import compress_sweep

    config = _sweep(widths=(8,), task="seq2seq", budget=6e7, marks=1)
    result = sweep(config, TRAIN, tmp_path)
    run = result.runs[0]
    size = ModelConfig.from_dict(run.model)
    assert run.task == "seq2seq" and size.decoder_depth == 1
    assert run.flops_per_step == training_step_flops(size, "seq2seq", 8, 12, 11)
    assert run.evaluations[-1].val_loss < run.evaluations[0].val_loss
    compressed = compress_sweep(result, CompressConfig(sparsities=(0.5,), bits=(4,), iterative=False, qat=False,
                                                       int8_latency=False), workers=1)
    assert {o.method for o in compressed[0].outcomes} == {"dense", "prune-oneshot", "ptq"}
