"""Scoring one response: every kind, right and wrong, and responses of the wrong shape."""

from __future__ import annotations

import math

import pytest

from grader.exams.presented import Choice, Presented
from grader.exams.scoring import InvalidResponse, describe_key, is_correct, normalise


def item(kind: str, ids: str = "abcd", key: str = "", **kw) -> Presented:
    choices = tuple(Choice(i, f"text {i}", f"why {i}", i in key) for i in ids)
    return Presented(
        question_id="q",
        domain="d",
        kind=kind,
        stem="stem",
        reference="https://example.org",
        difficulty=1,
        content_hash="h",
        choices=choices if kind != "numeric" else (),
        key=tuple(key),
        **kw,
    )


SINGLE = item("single", key="c")
MULTIPLE = item("multiple", ids="abcde", key="be", choose=2)
ORDERING = item("ordering", key="cadb")
NUMERIC = item("numeric", answer=75.0, tolerance=0.5, unit="%")


def score(it: Presented, response) -> bool:
    return is_correct(it, normalise(it, response))


def test_single():
    assert score(SINGLE, "c") is True
    for wrong in "abd":
        assert score(SINGLE, wrong) is False


def test_multiple_is_scored_by_exact_set_equality():
    assert score(MULTIPLE, ["b", "e"]) is True
    assert score(MULTIPLE, ["e", "b"]) is True  # order does not matter
    assert score(MULTIPLE, ["b"]) is False  # subset
    assert score(MULTIPLE, ["b", "e", "a"]) is False  # superset
    assert score(MULTIPLE, ["a", "e"]) is False  # one right, one wrong
    assert score(MULTIPLE, []) is False
    assert normalise(MULTIPLE, ["e", "b"]) == ["b", "e"]


def test_ordering_needs_the_exact_sequence():
    assert score(ORDERING, ["c", "a", "d", "b"]) is True
    assert score(ORDERING, ["a", "c", "d", "b"]) is False
    assert score(ORDERING, ["b", "d", "a", "c"]) is False
    assert normalise(ORDERING, ("c", "a", "d", "b")) == ["c", "a", "d", "b"]


@pytest.mark.parametrize(
    ("response", "right"),
    [
        (75, True),
        ("75", True),
        (" 75.0 ", True),
        (75.5, True),  # the edge is inside
        (74.5, True),
        (75.50001, False),
        (74.49, False),
        (7.5, False),
    ],
)
def test_numeric_within_an_inclusive_tolerance(response, right):
    assert score(NUMERIC, response) is right


def test_numeric_edge_survives_binary_fractions():
    # 1.6 - 1.5 is 0.10000000000000009 in floating point: still within a tolerance of 0.1
    it = item("numeric", answer=1.5, tolerance=0.1)
    assert score(it, 1.6) is True
    assert score(it, 1.4) is True
    assert score(it, 1.61) is False


def test_numeric_with_no_tolerance_needs_the_exact_value():
    it = item("numeric", answer=5.0, tolerance=0.0)
    assert score(it, 5) is True
    assert score(it, 5.001) is False


def test_no_response_is_wrong():
    for it in (SINGLE, MULTIPLE, ORDERING, NUMERIC):
        assert is_correct(it, None) is False


@pytest.mark.parametrize(
    ("it", "response", "message"),
    [
        (SINGLE, "z", "choose one of a, b, c, d"),  # unknown option
        (SINGLE, ["c"], "choose one of"),  # wrong type
        (SINGLE, 3, "choose one of"),
        (SINGLE, None, "choose one of"),
        (MULTIPLE, "b", "expected a list of option ids"),  # wrong type
        (MULTIPLE, ["b", 5], "expected a list of option ids"),
        (MULTIPLE, ["b", "b"], "each option at most once"),  # duplicates
        (MULTIPLE, ["b", "z"], "from this question's options"),  # unknown option
        (ORDERING, ["c", "a", "d"], "place all 4 items"),  # missing one
        (ORDERING, ["c", "a", "d", "d"], "each option at most once"),  # duplicates
        (ORDERING, ["c", "a", "d", "z"], "from this question's options"),
        (ORDERING, {"c": 1}, "expected a list of option ids"),
        (NUMERIC, True, "expected a number"),  # bool is not a number here
        (NUMERIC, False, "expected a number"),
        (NUMERIC, "abc", "'abc' is not a number"),
        (NUMERIC, None, "is not a number"),
        (NUMERIC, [75], "is not a number"),
        (NUMERIC, math.nan, "expected a finite number"),
        (NUMERIC, "nan", "expected a finite number"),
        (NUMERIC, math.inf, "expected a finite number"),
        (NUMERIC, "-inf", "expected a finite number"),
    ],
)
def test_invalid_responses_raise_with_a_reason(it, response, message):
    with pytest.raises(InvalidResponse) as info:
        normalise(it, response)
    assert message in str(info.value)


def test_describe_key_uses_the_numbers_shown():
    # options are labelled by their position as shown: c is the third
    assert describe_key(SINGLE) == "[3] text c"
    assert describe_key(ORDERING) == "[3] text c → [1] text a → [4] text d → [2] text b"
    assert describe_key(NUMERIC) == "75 % (± 0.5)"
