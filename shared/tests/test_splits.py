"""Stratified and group hold-out splits: disjoint, complete, proportional, groups intact."""

from __future__ import annotations

import pytest
import torch

from methodzoo.shared.data.splits import group_split, stratified_split
from methodzoo.shared.errors import ConfigError


def test_stratified_parts_are_disjoint_complete_and_proportional():
    labels = torch.arange(4).repeat_interleave(torch.tensor([10, 20, 30, 40]))
    validation, test, rest = stratified_split(labels, [0.2, 0.3], generator=1)
    joined = torch.cat([validation, test, rest])
    assert sorted(joined.tolist()) == list(range(100))
    for part, fraction in ((validation, 0.2), (test, 0.3)):
        counts = torch.bincount(labels[part], minlength=4)
        assert counts.tolist() == [round(fraction * n) for n in (10, 20, 30, 40)]


def test_stratified_is_seeded_and_keeps_one_of_each_class():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    first = stratified_split(labels, [0.1], generator=3)
    assert [p.tolist() for p in first] == [p.tolist() for p in stratified_split(labels, [0.1], generator=3)]
    assert sorted(labels[first[0]].tolist()) == [0, 1, 2]  # a tiny fraction still holds out one per class


def test_group_split_never_splits_a_group():
    groups = torch.arange(10).repeat_interleave(7)
    validation, test, rest = group_split(groups, [0.2, 0.2], generator=0)
    sets = [set(groups[p].tolist()) for p in (validation, test, rest)]
    assert len(sets[0]) == 2 and len(sets[1]) == 2 and len(sets[2]) == 6
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert sorted(torch.cat([validation, test, rest]).tolist()) == list(range(70))


@pytest.mark.parametrize("call, message", [
    (lambda: stratified_split(torch.zeros(4), [0.7, 0.6]), "sum to at most 1"),
    (lambda: group_split(torch.tensor([1, 1, 2]), [0.3, 0.3]), "at least 3 distinct groups"),
])
def test_bad_fractions_and_too_few_groups_are_config_errors(call, message):
    with pytest.raises(ConfigError, match=message):
        call()
