"""Pieces of the benchmark: the fine-tuning chain and the BD-rate helper's overlap rule."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from methodzoo.ict_codec.bench import PROFILES, _bd_rate, _train_chain


def test_chain_trains_every_lambda_from_the_previous_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    import methodzoo.ict_codec.bench as bench

    monkeypatch.setattr(bench, "_train_photos", _photos)
    profile = dataclasses.replace(PROFILES["quick"], lambdas=(0.1, 0.01), base_steps=3, finetune_steps=2,
                                  batch_size=2)
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
