"""Largest-remainder allocation of a form's questions over domain weights."""

from __future__ import annotations

import math
import random

import pytest

from grader.content import load_content
from grader.exams.blueprint import allocate


def test_the_documented_example():
    counts = allocate(80, {"a": 28, "b": 26, "c": 22, "d": 24})
    assert counts == {"a": 22, "b": 21, "c": 18, "d": 19}


def test_leftovers_go_to_the_largest_remainders():
    # 10 at 45/35/20 = 4.5/3.5/2.0: floors 4/3/2, one left over; the tie on .5 goes to the
    # heavier domain
    assert allocate(10, {"x": 45, "y": 35, "z": 20}) == {"x": 5, "y": 3, "z": 2}
    # 7 at thirds: 2.33 each, one left over goes to the earliest on a full tie
    assert allocate(7, {"p": 1, "q": 1, "r": 1}) == {"p": 3, "q": 2, "r": 2}


def test_zero_total_and_bad_weights():
    assert allocate(0, {"a": 50, "b": 50}) == {"a": 0, "b": 0}
    with pytest.raises(ValueError):
        allocate(10, {})
    with pytest.raises(ValueError):
        allocate(-1, {"a": 1})


def test_counts_always_sum_to_the_total_and_stay_within_one_of_the_share():
    rng = random.Random(20240601)
    for _ in range(2000):
        n = rng.randint(1, 9)
        weights = {
            f"d{i}": rng.choice([rng.randint(1, 60), rng.uniform(0.1, 50)]) for i in range(n)
        }
        total = rng.randint(0, 300)
        counts = allocate(total, weights)
        assert list(counts) == list(weights)
        assert sum(counts.values()) == total, (total, weights, counts)
        weight_sum = sum(weights.values())
        for key, count in counts.items():
            share = total * weights[key] / weight_sum
            assert math.floor(share) <= count <= math.floor(share) + 1


def test_real_tracks_allocate_each_level_full_exam():
    from grader import paths

    content = load_content(paths.content_root(), questions=False)
    assert not content.errors, content.errors
    sizes = {"foundation": 40, "engineer": 60, "professional": 80, "architect": 60}
    assert set(sizes) <= set(content.levels)
    for level_id, total in sizes.items():
        level = content.level(level_id)
        weights = {d.id: d.weight for d in level.domains}
        assert sum(weights.values()) == pytest.approx(100)
        counts = allocate(total, weights)
        assert sum(counts.values()) == total
        assert all(c > 0 for c in counts.values()), (level_id, counts)
        # the full exam form of the level asks for exactly this many questions
        assert content.form(level_id).questions == total
