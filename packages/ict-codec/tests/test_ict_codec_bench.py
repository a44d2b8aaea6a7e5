"""Pieces of the benchmark: the fine-tuning chain and the BD-rate helper's overlap rule."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch

from methodzoo.ict_codec.bench import bd_rate_between


def test_release_chain_trains_every_lambda_from_the_previous_weights(tmp_path: Path) -> None:
    from methodzoo.ict_codec import ReleaseRecipe, load_model, train_release
    from methodzoo.shared.data import offline_photos

    photos = [p.image for p in offline_photos(["rocket", "flower"])]
    recipe = ReleaseRecipe(preset="tiny", lambdas=(0.01, 0.1), base_steps=3, finetune_steps=2, batch_size=2,
                           patch_size=64, checkpoint_every=1)
    assert [(s.quality, s.lmbda, s.steps, s.from_scratch) for s in recipe.stages()] == [(2, 0.1, 3, True),
                                                                                        (1, 0.01, 2, False)]
    lines: list[str] = []
    files = train_release(tmp_path, recipe, photos, log=lines.append, log_every=1)
    assert [f.name for f in files] == ["ict-q1.safetensors", "ict-q2.safetensors"]
    first, second = (load_model(f).state_dict() for f in reversed(files))
    changed = [k for k in first if first[k].dtype.is_floating_point and not torch.equal(first[k], second[k])]
    assert changed  # fine-tuning moved the weights on from the first model's
    assert any("q1 step 2/2" in line for line in lines)
    # Finished stages are not retrained: a second run only loads them.
    lines.clear()
    train_release(tmp_path, recipe, photos, log=lines.append)
    assert sum("already trained" in line for line in lines) == 2


def test_release_chains_split_into_processes_by_quality(tmp_path: Path) -> None:
    from methodzoo.ict_codec import ReleaseRecipe, load_model, train_release
    from methodzoo.shared.data import offline_photos
    from methodzoo.shared.errors import UserError

    photos = [p.image for p in offline_photos(["rocket"])]
    recipe = ReleaseRecipe(preset="tiny", lambdas=(0.01, 0.02, 0.05), scratch=(2,), base_steps=2, finetune_steps=1,
                           batch_size=1, patch_size=64, checkpoint_every=0)
    assert [s.from_scratch for s in recipe.stages()] == [True, True, False]
    with pytest.raises(UserError, match="fine-tuned from quality 2"):
        train_release(tmp_path, recipe, photos, only=[1], log=lambda _: None)
    # The second chain (q2 from scratch, then q1) does not need the first chain's q3.
    files = train_release(tmp_path, recipe, photos, only=[2, 1], log=lambda _: None)
    assert [f.name for f in files] == ["ict-q1.safetensors", "ict-q2.safetensors"]
    assert not (tmp_path / "ict-q3.safetensors").exists()
    top = train_release(tmp_path, recipe, photos, only=[3], log=lambda _: None)[0]
    q2, q3 = load_model(files[1]).state_dict(), load_model(top).state_dict()
    assert any(not torch.equal(q2[k], q3[k]) for k in q2 if q2[k].dtype.is_floating_point)  # own initialisations
    with pytest.raises(UserError, match="no quality"):
        train_release(tmp_path, recipe, photos, only=[4], log=lambda _: None)


def test_further_passes_continue_the_previous_pass_and_the_chain_goes_on_from_the_last(tmp_path: Path) -> None:
    from methodzoo.ict_codec import ReleaseRecipe, load_model, train_release
    from methodzoo.ict_codec.release import _stage_start, weights_name
    from methodzoo.shared.data import offline_photos
    from methodzoo.shared.errors import UserError

    photos = [p.image for p in offline_photos(["rocket"])]
    recipe = ReleaseRecipe(preset="tiny", lambdas=(0.01, 0.1), scratch=(), base_steps=2, finetune_steps=1,
                           continue_steps=(2, 1), batch_size=1, patch_size=64, checkpoint_every=0)
    assert [(s.quality, s.steps, s.from_scratch, s.continues, s.file_name("ict")) for s in recipe.stages()] == [
        (2, 2, True, False, "ict-q2-pass1.safetensors"), (2, 2, False, True, "ict-q2-pass2.safetensors"),
        (2, 1, False, True, "ict-q2.safetensors"), (1, 1, False, False, "ict-q1.safetensors")]
    assert all(s.lr == recipe.finetune_lr for s in recipe.stages()[1:])
    files = train_release(tmp_path, recipe, photos, log=lambda _: None)
    assert [f.name for f in files] == ["ict-q1.safetensors", "ict-q2.safetensors"]  # the last pass is q2's file
    passes = [load_model(tmp_path / weights_name("ict", 2, pass_number=n)).state_dict() for n in (1, 2)]
    passes.append(load_model(files[1]).state_dict())
    for before, after in itertools.pairwise(passes):
        assert any(not torch.equal(before[k], after[k]) for k in before if before[k].dtype.is_floating_point)
    # A pass cannot start without the one before it.
    (tmp_path / weights_name("ict", 2, pass_number=2)).unlink()
    with pytest.raises(UserError, match="pass 3 needs its pass 2"):
        _stage_start(tmp_path, recipe, recipe.stages()[2], "cpu")


def test_psnr_at_interpolates_in_log_rate_inside_the_curve_only() -> None:
    from methodzoo.ict_codec.bench import _psnr_at

    points = [{"bpp": 0.25, "psnr": 26.0}, {"bpp": 1.0, "psnr": 30.0}]
    assert _psnr_at(points, 0.5) == pytest.approx(28.0)
    assert _psnr_at(points, 2.0) is None


def test_bd_rate_reports_the_shared_quality_range() -> None:
    anchor = [{"bpp": b, "psnr": q} for b, q in [(0.2, 20.0), (0.4, 24.0), (0.8, 28.0), (1.6, 32.0)]]
    half_rate = [{"bpp": p["bpp"] / 2, "psnr": p["psnr"]} for p in anchor]
    value, overlap = bd_rate_between(anchor, half_rate)
    assert value == pytest.approx(-50.0, abs=1e-6)
    assert overlap == pytest.approx(12.0)
    disjoint = [{"bpp": p["bpp"], "psnr": p["psnr"] - 20} for p in anchor]
    assert bd_rate_between(anchor, disjoint) == (None, 0.0)


def test_timed_codecs_take_turns_input_by_input() -> None:
    from methodzoo.ict_codec.bench import TimedCodec, _interleaved_timings

    calls: list[tuple[str, str, int]] = []

    def codec(name: str) -> TimedCodec:
        return TimedCodec(lambda x: calls.append((name, "enc", x)) or 10 * x,
                          lambda x: calls.append((name, "dec", x)), [1, 2])

    timings = _interleaved_timings({"a": codec("a"), "b": codec("b")}, rounds=3)
    per_input = 2 + 4 + 4 * 3  # an encode per codec for the code, one warm-up call each, 3 rounds
    assert len(calls) == 2 * per_input
    first, second = calls[:per_input], calls[per_input:]
    assert {x for _, _, x in first} == {1, 10} and {x for _, _, x in second} == {2, 20}
    assert all(x == 10 for _, kind, x in first if kind == "dec")  # decode gets the input's code
    rounds = [first[6 + 4 * r: 10 + 4 * r] for r in range(3)]
    assert all(sorted(r) == sorted(rounds[0]) for r in rounds)  # every call once per round
    assert rounds[0][0] != rounds[1][0]  # the first call rotates
    assert timings["a"]["ref_over_this"] == 1.0
    assert set(timings["b"]) == {"encode_ms", "decode_ms", "ref_over_this"}


def test_verdicts_are_undecided_without_a_shared_range_or_a_peer() -> None:
    from methodzoo.ict_codec.bench import verdicts

    metrics = {"bd_rate_ict_vs_jpeg": -20.0, "bd_overlap_db_ict_vs_jpeg": 2.0,
               "bd_rate_ict_vs_webp": None, "bd_overlap_db_ict_vs_webp": 0.0,
               "bd_rate_ict_vs_swint_charm": -12.0, "bd_overlap_db_ict_vs_swint_charm": 1.5,
               "bd_rate_aict_vs_ict": 3.0, "bd_overlap_db_aict_vs_ict": 2.0,
               "decode_ratio_ict_over_compressai": 1.2, "decode_ms_512x768_ict": 12.0,
               "decode_ms_512x768_compressai": 10.0}
    jpeg, webp, swint, aict, decode = verdicts(metrics)
    assert jpeg.held is False  # negative, but over less than the 3 dB the target asks for
    assert webp.held is None and swint.held is True and aict.held is False and decode.held is False
    assert decode.ratio == pytest.approx(1.2)
    assert verdicts({**metrics, "bd_overlap_db_ict_vs_jpeg": 3.5})[0].held is True
    assert verdicts({**metrics, "decode_ratio_ict_over_compressai": None})[-1].held is None
    # The quick profile has no comparison set: its verdict says so instead of "no shared quality range".
    unmeasured = verdicts({**metrics, "comparison_set_measured": False})[2]
    assert unmeasured.held is None and "not measured" in unmeasured.measured


def test_comparison_metrics_pair_the_right_curves() -> None:
    from methodzoo.ict_codec.bench import comparison_metrics

    swint = [{"bpp": b, "psnr": q} for b, q in [(0.2, 20.0), (0.4, 24.0), (0.8, 28.0), (1.6, 32.0)]]
    ict = [{"bpp": p["bpp"] / 2, "psnr": p["psnr"]} for p in swint]  # half the rate at every quality
    metrics = comparison_metrics({"swint-charm": swint, "ict": ict}, {"jpeg": swint})
    assert metrics["comparison_set_measured"] is True
    assert comparison_metrics({}, {"jpeg": swint})["comparison_set_measured"] is False
    assert metrics["bd_rate_ict_vs_swint_charm"] == pytest.approx(-50.0, abs=1e-6)
    assert metrics["ict_beats_swint_charm"] is True
    assert metrics["bd_rate_swint_charm_vs_jpeg"] == pytest.approx(0.0, abs=1e-9)
    # Missing kinds leave their keys undecided instead of failing.
    assert metrics["bd_rate_ict_vs_conv_charm"] is None and metrics["bd_overlap_db_ict_vs_conv_charm"] == 0.0
    assert metrics["bd_rate_aict_vs_ict_small_budget"] is None


def test_release_peer_metrics_compare_both_shipped_kinds_with_the_peer_and_only_when_it_was_trained() -> None:
    from methodzoo.ict_codec.bench import release_peer_metrics, verdicts

    peer = [{"bpp": b, "psnr": q} for b, q in [(0.2, 25.0), (0.4, 27.0), (0.8, 29.0)]]
    ict = [{"bpp": p["bpp"] / 2, "psnr": p["psnr"]} for p in peer]
    aict = [{"bpp": p["bpp"] * 1.25, "psnr": p["psnr"]} for p in peer]
    metrics = release_peer_metrics({"ict": ict, "aict": aict}, peer)
    assert metrics["bd_rate_ict_vs_swint_charm_release"] == pytest.approx(-50.0, abs=1e-6)
    assert metrics["bd_rate_aict_vs_swint_charm_release"] == pytest.approx(25.0, abs=1e-6)
    assert metrics["bd_overlap_db_ict_vs_swint_charm_release"] == pytest.approx(4.0)
    missing = release_peer_metrics({"ict": ict, "aict": aict}, None)
    assert missing["swint_charm_release_measured"] is False and missing["bd_rate_ict_vs_swint_charm_release"] is None

    base = {f"bd_{part}_{key}": value for key in ("ict_vs_jpeg", "ict_vs_webp", "ict_vs_swint_charm", "aict_vs_ict")
            for part, value in (("rate", -1.0), ("overlap_db", 3.5))}
    claims = [v.claim for v in verdicts({**base, **missing})]
    assert not any("release recipe" in claim for claim in claims)
    added = [v for v in verdicts({**base, **metrics}) if "release recipe" in v.claim]
    assert len(added) == 1 and added[0].held is True


def test_release_runs_ship_every_quality_of_ict_and_aict_once_in_dependency_order() -> None:
    from methodzoo.ict_codec.release import RELEASE_RUNS, release_files, shipped_files

    shipped: dict[str, list[int]] = {}
    for run in RELEASE_RUNS:
        stages = [s for s in run.recipe.stages() if s.quality in run.trains]
        # A process trains its from-scratch stage first (and its further passes, if any), then each
        # stage fine-tuned from the one before.
        assert stages[0].from_scratch and stages[0].quality == run.trains[0]
        rest = [s for s in stages[1:] if not s.continues]
        assert all(s.quality == run.trains[0] for s in stages[1:] if s.continues)
        assert [s.quality for s in rest] == list(run.trains[1:])
        assert not any(s.from_scratch for s in rest)
        assert set(run.ships) <= set(run.trains)
        shipped.setdefault(run.recipe.kind, []).extend(run.ships)
    assert {kind: sorted(q) for kind, q in shipped.items()} == {"ict": [1, 2, 3, 4], "aict": [1, 2, 3, 4]}
    files = shipped_files("OUT")
    assert len(files) == 8 and len(set(files.values())) == 8  # presets get their own folders
    by_kind = release_files("OUT")
    assert {kind: sorted(by_quality) for kind, by_quality in by_kind.items()} == {"ict": [1, 2, 3, 4],
                                                                                 "aict": [1, 2, 3, 4]}
    assert {path.name: path for q in by_kind.values() for path in q.values()} == files


def test_describe_lists_only_the_stages_of_the_qualities_a_run_trains() -> None:
    from methodzoo.ict_codec.release import RELEASE_RUNS, describe

    high = next(run for run in RELEASE_RUNS if 4 in run.trains)
    stages = describe(high.recipe, high.trains)["stages"]
    assert {s["quality"] for s in stages} == set(high.trains)
    assert [s["pass"] for s in stages if s["quality"] == 4] == list(range(1, len(high.recipe.continue_steps) + 2))
    assert len(describe(high.recipe)["stages"]) > len(stages)  # the whole recipe also has its low chain


def test_peer_runs_train_swint_charm_exactly_as_the_shipped_ict() -> None:
    from methodzoo.ict_codec.release import PEER_KIND, PEER_RUNS, RELEASE_RUNS, peer_files

    ict_runs = [run for run in RELEASE_RUNS if run.recipe.kind == "ict"]
    assert PEER_KIND == "swint-charm" and len(PEER_RUNS) == len(ict_runs)
    for peer, ict in zip(PEER_RUNS, ict_runs, strict=True):
        # Everything but the kind is the same: stages, λ, steps, seeds, crops, presets.
        assert peer.recipe.kind == PEER_KIND and peer.recipe.replace(kind="ict") == ict.recipe
        assert peer.trains == ict.trains and peer.ships == ()
    files = peer_files("OUT")
    assert sorted(files) == [1, 2, 3, 4]
    assert files[4].parent.name == "compact-mid" and files[1].parent.name == "compact"
    assert files[4].name == "swint-charm-q4.safetensors"


def test_plot_rd_draws_every_curve_and_fits_the_learned_ones() -> None:
    from methodzoo.ict_codec.bench import plot_rd
    from methodzoo.shared.plotting import pyplot

    plt = pyplot()
    fig, ax = plt.subplots()
    curves = {"ict": [{"bpp": 0.2, "psnr": 25.0}, {"bpp": 0.5, "psnr": 28.0}], "aict": [{"bpp": 0.3, "psnr": 26.0}]}
    plot_rd(ax, curves, {"jpeg": [{"bpp": 2.0, "psnr": 35.0}]}, "title")
    assert [line.get_label() for line in ax.get_lines()] == ["ict", "aict", "JPEG"]
    assert ax.get_xlim() == pytest.approx((0.0, 0.7))  # 1.4 × the learned curves' largest rate
    assert ax.get_title() == "title"
    plt.close(fig)


def test_release_cli_trains_a_recipe_and_refuses_two_runs_at_once(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from methodzoo.shared.cli import main

    assert main(["ict-codec", "release", "--out", str(tmp_path / "r"), "--release-run", "0", "--peer-run", "0"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["ict-codec", "release", "--out", str(tmp_path / "r"), "--preset", "tiny", "--lambdas", "0.01", "0.1",
                 "--base-steps", "1", "--finetune-steps", "1", "--batch-size", "1", "--patch-size", "64",
                 "--scratch", "--opencv-doc", str(tmp_path / "none")]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [Path(p).name for p in printed["weights"]] == ["ict-q1.safetensors", "ict-q2.safetensors"]
    assert all(Path(p).is_file() for p in printed["weights"])
