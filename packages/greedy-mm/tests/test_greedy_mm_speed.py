"""Learning-speed bookkeeping against hand-set gradients, computed independently by name."""

from __future__ import annotations

import math

import pytest
import torch

from methodzoo.greedy_mm import LearningSpeedTracker, MultimodalNetwork, SpeedGroups, conv_branch
from methodzoo.shared.errors import ConfigError


def _network() -> MultimodalNetwork:
    torch.manual_seed(0)
    branches = [conv_branch(c, 3, dims=1, width=4, stages=2) for c in (2, 3)]
    return MultimodalNetwork(*branches, fusion_after=(0, 1), example_inputs=(torch.randn(2, 2, 8), torch.randn(2, 3, 8)))


def _set_gradients(model: torch.nn.Module, seed: int, only: str | None = None) -> None:
    generator = torch.Generator().manual_seed(seed)
    for name, parameter in model.named_parameters():
        grad = torch.randn(parameter.shape, generator=generator)
        parameter.grad = grad if only is None or only in name else torch.zeros_like(parameter)


def _hand_ratio(model: torch.nn.Module, keep) -> float:  # type: ignore[no-untyped-def]
    grads, weights = 0.0, 0.0
    for name, parameter in model.named_parameters():
        if keep(name):
            grads += float((parameter.grad.double() ** 2).sum())
            weights += float((parameter.detach().double() ** 2).sum())
    return grads / weights


def _groups_by_hand(model: torch.nn.Module, step: int) -> dict[str, float]:
    # fusion_i: every MMTM's shared squeeze and excitation i; branch_i: every parameter of branch i
    return {
        "bypass0": _hand_ratio(model, lambda n: n.startswith("fusions.") and ("fc_squeeze" in n or "fc_excite.0" in n)),
        "bypass1": _hand_ratio(model, lambda n: n.startswith("fusions.") and ("fc_squeeze" in n or "fc_excite.1" in n)),
        "main0": _hand_ratio(model, lambda n: n.startswith("branches.0.")),
        "main1": _hand_ratio(model, lambda n: n.startswith("branches.1.")),
    }


def test_sums_of_per_step_ratios_match_hand_computation() -> None:
    model = _network()
    tracker = LearningSpeedTracker(model)
    expected = dict.fromkeys(("bypass0", "bypass1", "main0", "main1"), 0.0)
    for step in range(3):
        _set_gradients(model, seed=step)
        with torch.no_grad():  # the weights move between steps, so each step's ratio differs
            for parameter in model.parameters():
                parameter.mul_(1.0 + 0.1 * step)
        for key, value in _groups_by_hand(model, step).items():
            expected[key] += value
        d_speed = tracker.after_backward(model)
    assert tracker.m_bypass == pytest.approx([expected["bypass0"], expected["bypass1"]], rel=1e-9)
    assert tracker.m_main == pytest.approx([expected["main0"], expected["main1"]], rel=1e-9)
    bdr0 = math.log10(expected["bypass0"] / expected["main0"])
    bdr1 = math.log10(expected["bypass1"] / expected["main1"])
    assert tracker.bdr == pytest.approx((bdr0, bdr1), rel=1e-9)
    assert d_speed == pytest.approx(bdr0 - bdr1, rel=1e-9)
    assert tracker.steps == 3


def test_shared_squeeze_counts_for_both_modalities() -> None:
    model = _network()
    tracker = LearningSpeedTracker(model)
    _set_gradients(model, seed=5, only="fc_squeeze")  # only the shared layer has a gradient
    ratios = tracker.step_ratios()
    squeeze_grads = sum(float((p.grad**2).sum()) for n, p in model.named_parameters() if "fc_squeeze" in n)
    assert squeeze_grads > 0
    for i, excite in enumerate(("fc_excite.0", "fc_excite.1")):
        weights = sum(float((p.detach() ** 2).sum()) for n, p in model.named_parameters()
                      if "fc_squeeze" in n or excite in n)
        assert ratios["bypass"][i] == pytest.approx(squeeze_grads / weights, rel=1e-6)
    assert ratios["main"] == (0.0, 0.0)


def test_increments_are_ratios_of_step_sums_not_of_accumulated_sums() -> None:
    model = _network()
    tracker = LearningSpeedTracker(model)
    ratios = []
    for step, scale in enumerate((1.0, 100.0)):
        _set_gradients(model, seed=step)
        for parameter in model.parameters():
            parameter.grad = parameter.grad * scale
        ratios.append(tracker.step_ratios()["main"][0])
        tracker.after_backward(model)
    assert tracker.m_main[0] == pytest.approx(sum(ratios), rel=1e-9)


def test_groups_by_name_equal_groups_by_module() -> None:
    model = _network()
    by_module = SpeedGroups.of(model)
    by_name = SpeedGroups.from_names(model, fusion_key="fusions.", modality_keys=("fc_excite.0", "fc_excite.1"),
                                     branch_keys=("branches.0.", "branches.1."))
    for kind in ("fusion", "branch"):
        for i in (0, 1):
            assert {id(p) for p in getattr(by_module, kind)[i]} == {id(p) for p in getattr(by_name, kind)[i]}


def test_missing_gradients_count_as_zero_and_state_round_trips() -> None:
    model = _network()
    tracker = LearningSpeedTracker(model)
    assert math.isnan(tracker.d_speed)
    _set_gradients(model, seed=1, only="branches.0.")
    for name, parameter in model.named_parameters():
        if not name.startswith("branches.0."):
            parameter.grad = None
    tracker.after_backward(model)
    assert tracker.m_bypass == [0.0, 0.0] and tracker.m_main[0] > 0 and tracker.m_main[1] == 0
    copy = LearningSpeedTracker(model)
    copy.load_state_dict(tracker.state_dict())
    assert copy.m_main == tracker.m_main and copy.steps == 1


def test_model_without_groups_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="speed_groups"):
        LearningSpeedTracker(torch.nn.Linear(2, 2))


def test_trainer_hook_accumulates_like_after_backward() -> None:
    from types import SimpleNamespace

    model = _network()
    direct, hooked = LearningSpeedTracker(model), LearningSpeedTracker(model)
    hook = hooked.trainer_hook()
    for step in range(2):
        _set_gradients(model, seed=step)
        expected = direct.after_backward(model)
        assert hook(SimpleNamespace(model=model, step=step)) == {"d_speed": pytest.approx(expected)}
    assert hooked.m_main == direct.m_main
