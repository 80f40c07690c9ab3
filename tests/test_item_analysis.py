"""Item analysis against values computed by hand on a small fixed data set.

Six candidates A–F sit five single-choice questions. Their choices (key in capitals):

    question  options      A  B  C  D  E  F
    q1        A b c        a  a  a  b  c  b      correct: A B C
    q2        a B c        b  b  a  b  a  a      correct: A B D
    q3        a B c        c  c  b  b  b  a      correct: C D E   (strong pick c: suspect)
    q4        A b c d      a  a  a  a  b  c      correct: A B C D (nobody picks d: dead)
    q5        A b          a  a  b  b  b  b      correct: A B

Totals (items right): A 4, B 4, C 3, D 3, E 1, F 0.
Groups: n = 6, g = floor(0.27 × 6 + 0.5) = floor(2.12) = 2; ranked by total (ties by name):
A B C D E F, so upper = {A, B} (totals 4, 4), lower = {E, F} (totals 1, 0). No tie crosses a
group boundary (rank 2 has 4, rank 3 has 3; rank 4 has 3, rank 5 has 1).

Point-biserial r = cov(x, y) / (sd_x · sd_y), population formulas, with x the item score and
y the rest-of-test score (total minus the item).
"""

from __future__ import annotations

import math

import pytest

from grader.classroom.items import ItemSpec, Response, analyse, group_size, point_biserial

KEYS = {"q1": "a", "q2": "b", "q3": "b", "q4": "a", "q5": "a"}
OPTIONS = {
    "q1": ("a", "b", "c"),
    "q2": ("a", "b", "c"),
    "q3": ("a", "b", "c"),
    "q4": ("a", "b", "c", "d"),
    "q5": ("a", "b"),
}
CHOICES = {  # candidate -> choice per question
    "A": {"q1": "a", "q2": "b", "q3": "c", "q4": "a", "q5": "a"},
    "B": {"q1": "a", "q2": "b", "q3": "c", "q4": "a", "q5": "a"},
    "C": {"q1": "a", "q2": "a", "q3": "b", "q4": "a", "q5": "b"},
    "D": {"q1": "b", "q2": "b", "q3": "b", "q4": "a", "q5": "b"},
    "E": {"q1": "c", "q2": "a", "q3": "b", "q4": "b", "q5": "b"},
    "F": {"q1": "b", "q2": "a", "q3": "a", "q4": "c", "q5": "b"},
}


def dataset() -> tuple[list[ItemSpec], list[Response]]:
    specs = [
        ItemSpec(q, "d1", "single", OPTIONS[q], (KEYS[q],), position=i) for i, q in enumerate(KEYS)
    ]
    responses = [
        Response(c, q, choice == KEYS[q], (choice,))
        for c, choices in CHOICES.items()
        for q, choice in choices.items()
    ]
    return specs, responses


@pytest.fixture(scope="module")
def stats():
    specs, responses = dataset()
    return {s.question_id: s for s in analyse(specs, responses)}


def shares(item) -> dict[str, float]:
    return {o.id: o.share for o in item.options}


def test_facility_by_hand(stats):
    # q1: A B C right -> 3/6; q2: A B D -> 3/6; q3: C D E -> 3/6; q4: A B C D -> 4/6; q5: A B -> 2/6
    assert stats["q1"].facility == pytest.approx(3 / 6)
    assert stats["q2"].facility == pytest.approx(3 / 6)
    assert stats["q3"].facility == pytest.approx(3 / 6)
    assert stats["q4"].facility == pytest.approx(4 / 6)
    assert stats["q5"].facility == pytest.approx(2 / 6)
    assert all(s.n == 6 for s in stats.values())


def test_point_biserial_with_the_rest_of_test_score_by_hand(stats):
    # q1: x = 1 1 1 0 0 0; rest y = 4-1, 4-1, 3-1, 3-0, 1-0, 0-0 = 3 3 2 3 1 0; mean x 1/2,
    #     mean y 12/6 = 2; E[xy] = (3+3+2)/6 = 8/6; cov = 8/6 - 1/2·2 = 1/3;
    #     var x = 1/4 (sd 1/2); E[y²] = (9+9+4+9+1+0)/6 = 32/6; var y = 32/6 - 4 = 4/3
    #     (sd 2/√3); r = (1/3) / (1/2 · 2/√3) = √3/3 = 0.57735
    assert stats["q1"].discrimination == pytest.approx(math.sqrt(3) / 3)
    assert stats["q1"].discrimination == pytest.approx(0.57735, abs=1e-5)
    # q2: x = 1 1 0 1 0 0; y = 3 3 3 2 1 0 (mean 2); E[xy] = (3+3+2)/6 = 8/6; cov = 1/3;
    #     E[y²] = (9+9+9+4+1)/6 = 32/6; var y = 4/3: the same r = √3/3
    assert stats["q2"].discrimination == pytest.approx(math.sqrt(3) / 3)
    # q3: x = 0 0 1 1 1 0; y = 4 4 2 2 0 0 (mean 2); E[xy] = (2+2+0)/6 = 4/6;
    #     cov = 4/6 - 1/2·2 = -1/3; E[y²] = (16+16+4+4)/6 = 40/6; var y = 40/6 - 4 = 8/3;
    #     r = (-1/3) / (1/2 · √(8/3)) = -√(1/6) = -0.40825
    assert stats["q3"].discrimination == pytest.approx(-math.sqrt(1 / 6))
    assert stats["q3"].discrimination == pytest.approx(-0.40825, abs=1e-5)
    # q4: x = 1 1 1 1 0 0; y = 3 3 2 2 1 0 (mean 11/6); E[xy] = (3+3+2+2)/6 = 10/6;
    #     cov = 10/6 - (4/6)(11/6) = 60/36 - 44/36 = 4/9; var x = (2/3)(1/3) = 2/9 (sd √2/3);
    #     E[y²] = (9+9+4+4+1)/6 = 27/6; var y = 27/6 - 121/36 = 41/36 (sd √41/6);
    #     r = (4/9) / (√2/3 · √41/6) = (4/9)·(18/√82) = 8/√82 = 0.88345
    assert stats["q4"].discrimination == pytest.approx(8 / math.sqrt(82))
    assert stats["q4"].discrimination == pytest.approx(0.88345, abs=1e-5)
    # q5: x = 1 1 0 0 0 0; y = 3 3 3 3 1 0 (mean 13/6); E[xy] = 6/6 = 1;
    #     cov = 1 - (1/3)(13/6) = 5/18; var x = 2/9; E[y²] = (9·4+1)/6 = 37/6;
    #     var y = 222/36 - 169/36 = 53/36; r = (5/18) / (√2/3 · √53/6) = 5/√106 = 0.48564
    assert stats["q5"].discrimination == pytest.approx(5 / math.sqrt(106))
    assert stats["q5"].discrimination == pytest.approx(0.48564, abs=1e-5)


def test_upper_lower_index_by_hand(stats):
    # upper {A, B}, lower {E, F}
    assert stats["q1"].upper_lower == pytest.approx(1.0)  # A B right (2/2); E F wrong (0/2)
    assert stats["q2"].upper_lower == pytest.approx(1.0)  # A B right; E F wrong
    assert stats["q3"].upper_lower == pytest.approx(-0.5)  # A B wrong (0); E right (1/2)
    assert stats["q4"].upper_lower == pytest.approx(1.0)
    assert stats["q5"].upper_lower == pytest.approx(1.0)


def test_option_shares_by_hand(stats):
    # q1: a by A B C (3/6), b by D F (2/6), c by E (1/6)
    assert shares(stats["q1"]) == pytest.approx({"a": 3 / 6, "b": 2 / 6, "c": 1 / 6})
    # q2: a by C E F (3/6), b by A B D (3/6), c by nobody
    assert shares(stats["q2"]) == pytest.approx({"a": 3 / 6, "b": 3 / 6, "c": 0.0})
    # q3: a by F (1/6), b by C D E (3/6), c by A B (2/6)
    assert shares(stats["q3"]) == pytest.approx({"a": 1 / 6, "b": 3 / 6, "c": 2 / 6})
    # q4: a by A B C D (4/6), b by E, c by F (1/6 each), d by nobody
    assert shares(stats["q4"]) == pytest.approx({"a": 4 / 6, "b": 1 / 6, "c": 1 / 6, "d": 0.0})
    # q5: a by A B (2/6), b by C D E F (4/6)
    assert shares(stats["q5"]) == pytest.approx({"a": 2 / 6, "b": 4 / 6})
    # group shares for q3: upper {A, B} both chose c -> c 2/2; lower E chose b, F chose a
    q3 = {o.id: o for o in stats["q3"].options}
    assert (q3["c"].upper_share, q3["c"].lower_share) == (1.0, 0.0)
    assert (q3["a"].upper_share, q3["a"].lower_share) == (0.0, 0.5)
    assert (q3["b"].upper_share, q3["b"].lower_share) == (0.0, 0.5)
    assert [o.key for o in stats["q3"].options] == [False, True, False]


def test_suspect_key_is_flagged(stats):
    q3 = stats["q3"]
    assert "suspect_key" in q3.flags  # negative r, and distractor c chosen by the strong
    assert [o.id for o in q3.options if o.suspect] == ["c"]
    assert any("negative discrimination" in n for n in q3.notes)
    assert any("distractor c" in n and "second key" in n for n in q3.notes)
    for q in ("q1", "q2", "q4", "q5"):
        assert "suspect_key" not in stats[q].flags, q


def test_dead_distractors_are_flagged(stats):
    assert "dead_distractor" in stats["q2"].flags
    assert [o.id for o in stats["q2"].options if o.dead] == ["c"]
    assert "dead_distractor" in stats["q4"].flags
    assert [o.id for o in stats["q4"].options if o.dead] == ["d"]
    for q in ("q1", "q3", "q5"):
        assert "dead_distractor" not in stats[q].flags, q
    # every r here is either negative (q3) or at least 0.25: no low-discrimination flag
    assert not any("low_discrimination" in s.flags for s in stats.values())


def test_facility_band():
    specs, responses = dataset()
    bands = {s.question_id: s.band for s in analyse(specs, responses)}
    # 0.5, 0.5, 0.5 useful; 0.667 useful (not above 0.7); 0.333 useful (not below 0.3)
    assert set(bands.values()) == {"useful"}


def test_blank_answers_count_as_wrong_and_are_shared_out():
    spec = ItemSpec("q", "d", "single", ("a", "b"), ("a",))
    other = ItemSpec("r", "d", "single", ("a", "b"), ("a",))
    responses = [
        Response("A", "q", True, ("a",)),
        Response("B", "q", False, None),  # blank
        Response("C", "q", False, ("b",)),
        Response("A", "r", True, ("a",)),
        Response("B", "r", True, ("a",)),
        # C has no row for r at all: blank too
    ]
    q, r = analyse([spec, other], responses)
    assert q.facility == pytest.approx(1 / 3)
    assert q.blank_share == pytest.approx(1 / 3)
    assert {o.id: o.share for o in q.options} == pytest.approx({"a": 1 / 3, "b": 1 / 3})
    assert r.facility == pytest.approx(2 / 3)
    assert r.blank_share == pytest.approx(1 / 3)


def test_constant_scores_have_no_discrimination_and_groups_need_two():
    assert point_biserial([1, 1, 1], [0, 1, 2]) is None
    assert point_biserial([0, 1], [3, 3]) is None
    assert [group_size(n) for n in (0, 1, 2, 3, 4, 6, 10, 30)] == [0, 0, 1, 1, 1, 2, 3, 8]
    single = analyse(
        [ItemSpec("q", "d", "single", ("a", "b"), ("a",))], [Response("A", "q", True, ("a",))]
    )[0]
    assert single.discrimination is None and single.upper_lower is None
    assert single.options[1].dead  # b chosen by nobody


def test_multiple_choice_shares_count_each_selected_option():
    spec = ItemSpec("m", "d", "multiple", ("a", "b", "c"), ("a", "b"))
    responses = [
        Response("A", "m", True, ("a", "b")),
        Response("B", "m", False, ("a", "c")),
    ]
    (m,) = analyse([spec], responses)
    assert {o.id: o.share for o in m.options} == {"a": 1.0, "b": 0.5, "c": 0.5}
    assert [o.key for o in m.options] == [True, True, False]
