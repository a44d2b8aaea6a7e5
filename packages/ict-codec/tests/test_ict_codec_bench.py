"""Pieces of the benchmark: the fine-tuning chain and the BD-rate helper's overlap rule."""

from __future__ import annotations

import pytest
import torch

from methodzoo.ict_codec.bench import PROFILES, _bd_rate, _train_chain


def test_chain_trains_every_lambda_from_the_previous_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    import methodzoo.ict_codec.bench as bench

    monkeypatch.setattr(bench, "_train_photos", _photos)
    profile = PROFILES.quick.replace(lambdas=(0.1, 0.01), base_steps=3, finetune_steps=2, batch_size=2)
    chain = _train_chain(("ict", profile, 0, "cpu"))
    assert chain["kind"] == "ict" and chain["params"] > 0
    assert [s["lmbda"] for s in chain["stages"]] == [0.1, 0.01]
    assert [s["steps"] for s in chain["stages"]] == [3, 2]
    first, second = (s["state"] for s in chain["stages"])
    assert first.keys() == second.keys()
    changed = [k for k in first if first[k].dtype.is_floating_point and not torch.equal(first[k], second[k])]
    assert changed  # fine-tuning moved the weights on from the first model's


def _photos() -> list:
    from methodzoo.shared.data import offline_photos

    return [p.image for p in offline_photos(["rocket", "flower"])]


def test_bd_rate_reports_the_shared_quality_range() -> None:
    anchor = [{"bpp": b, "psnr": q} for b, q in [(0.2, 20.0), (0.4, 24.0), (0.8, 28.0), (1.6, 32.0)]]
    half_rate = [{"bpp": p["bpp"] / 2, "psnr": p["psnr"]} for p in anchor]
    value, overlap = _bd_rate(anchor, half_rate)
    assert value == pytest.approx(-50.0, abs=1e-6)
    assert overlap == pytest.approx(12.0)
    disjoint = [{"bpp": p["bpp"], "psnr": p["psnr"] - 20} for p in anchor]
    assert _bd_rate(anchor, disjoint) == (None, 0.0)


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

    metrics = {"bd_rate_ict_vs_swint_charm": -12.0, "bd_overlap_db_ict_vs_swint_charm": 1.5,
               "bd_rate_ict_vs_jpeg": None, "bd_overlap_db_ict_vs_jpeg": 0.0,
               "decode_ratio_ict_over_compressai": 1.2, "decode_ms_ict": 12.0, "decode_ms_compressai": 10.0}
    swint, jpeg, decode = verdicts(metrics)
    assert swint.held is True and jpeg.held is None and decode.held is False
    assert decode.ratio == pytest.approx(1.2)
    assert verdicts({**metrics, "decode_ratio_ict_over_compressai": None})[2].held is None
