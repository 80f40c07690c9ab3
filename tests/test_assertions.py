"""The partial-match assertion engine: subsets, array modes, comparisons and the messages."""

from __future__ import annotations

import pytest

from grader.checks.assertions import ExpectationError, check_expectation, match

DOC = {
    "name": "fraud",
    "metrics": {"f1": 0.85, "auc": 0.91, "rows": 1200},
    "tags": ["prod", "v2"],
    "containers": [
        {"name": "model", "image": "srv:1.2", "limits": {"nvidia.com/gpu": "1"}},
        {"name": "sidecar", "image": "envoy:1.30"},
    ],
    "conditions": [
        {"type": "Available", "status": "True"},
        {"type": "Progressing", "status": "True"},
        {"type": "ReplicaFailure", "status": "False"},
    ],
    "empty": [],
    "note": None,
}


def ok(expected: object, doc: object = DOC) -> bool:
    return match(expected, doc).ok


def messages(expected: object, doc: object = DOC) -> list[str]:
    return [str(m) for m in match(expected, doc).mismatches]


def test_maps_match_as_subsets() -> None:
    assert ok({"name": "fraud"})
    assert ok({"metrics": {"f1": 0.85}})  # unlisted keys ignored
    assert messages({"metrics": {"f1": 0.9}}) == ["at $.metrics.f1: expected 0.9, found 0.85"]
    assert messages({"owner": "x"}) == ["at $.owner: expected it to be present, found nothing"]
    assert messages({"name": {"first": "a"}}) == [
        "at $.name: expected an object with first, found string"
    ]


def test_scalar_equality_is_type_aware() -> None:
    assert ok({"metrics": {"rows": 1200.0}})  # 1200 == 1200.0
    assert not ok(True, 1) and not ok(1, True)  # booleans are not numbers
    assert not ok("1", 1)
    assert ok({"note": None})


@pytest.mark.parametrize(
    ("expected", "passes"),
    [
        ({"metrics": {"f1": {"$gte": 0.85}}}, True),
        ({"metrics": {"f1": {"$gt": 0.85}}}, False),
        ({"metrics": {"f1": {"$lt": 0.9, "$gte": 0.8}}}, True),
        ({"metrics": {"auc": {"$lte": 0.9}}}, False),
        ({"metrics": {"f1": {"$approx": 0.86, "$abs": 0.02}}}, True),
        ({"metrics": {"f1": {"$approx": 0.9, "$abs": 0.02}}}, False),
        ({"metrics": {"f1": {"$approx": 0.8501, "$rel": 0.001}}}, True),
        ({"name": {"$regex": "^fr"}}, True),
        ({"name": {"$regex": "^x"}}, False),
        ({"name": {"$in": ["fraud", "churn"]}}, True),
        ({"name": {"$ne": "fraud"}}, False),
        ({"name": {"$type": "string"}, "metrics": {"rows": {"$type": "integer"}}}, True),
        ({"metrics": {"f1": {"$type": "integer"}}}, False),
        ({"metrics": {"rows": {"$type": "number"}}}, True),
        ({"tags": {"$len": 2}}, True),
        ({"tags": {"$len": {"$gte": 3}}}, False),
        ({"owner": {"$absent": True}}, True),
        ({"name": {"$absent": True}}, False),
        ({"owner": {"$exists": False}}, True),
        ({"name": {"$exists": True}}, True),
        ({"name": {"$not": "churn"}}, True),
        ({"name": {"$not": {"$regex": "fr"}}}, False),
        ({"metrics": {"f1": {"$gte": 0.5}}, "name": {"$eq": "fraud"}}, True),
    ],
)
def test_operators(expected: object, passes: bool) -> None:
    assert ok(expected) is passes


def test_comparisons_refuse_non_numbers() -> None:
    assert messages({"name": {"$gte": 1}}) == ['at $.name: expected ≥ 1, found "fraud"']
    assert not ok({"$gte": 1}, float("nan"))
    assert not ok({"$gte": 1}, True)


def test_array_modes() -> None:
    assert ok({"tags": {"$exact": ["prod", "v2"]}})
    assert messages({"tags": {"$exact": ["v2", "prod"]}}) == [
        'at $.tags[0]: expected "v2", found "prod"',
        'at $.tags[1]: expected "prod", found "v2"',
    ]
    assert messages({"tags": {"$exact": ["prod"]}}) == [
        "at $.tags: expected exactly 1 element(s), found 2"
    ]
    assert ok({"tags": {"$subset": ["v2"]}})
    assert ok({"conditions": {"$subset": [{"type": "Available"}, {"status": "False"}]}})
    # one element may satisfy only one listed item
    assert not ok({"tags": {"$subset": ["prod", "prod"]}})
    assert ok({"conditions": {"$any": {"type": "Available", "status": "True"}}})
    assert ok({"containers": {"$all": {"image": {"$regex": ":"}}}})
    assert not ok({"containers": {"$all": {"limits": {"$exists": True}}}})
    assert messages({"empty": {"$all": {"x": 1}}}) == [
        "at $.empty: expected at least one element, found an empty array"
    ]
    assert ok(
        {
            "containers": {
                "$keyed": {
                    "by": "name",
                    "items": {
                        "model": {"limits": {"nvidia.com/gpu": "1"}},
                        "sidecar": {"image": {"$regex": "^envoy"}},
                    },
                }
            }
        }
    )
    assert ok({"containers": {"$keyed": {"by": "name", "items": {"ghost": {"$absent": True}}}}})


def test_kuttl_false_negative_does_not_happen() -> None:
    # Asserting one of three conditions: a keyed or any-match passes where a plain array
    # comparison (kuttl's default) would fail.
    expected = {
        "conditions": {"$keyed": {"by": "type", "items": {"Available": {"status": "True"}}}}
    }
    assert ok(expected)
    assert ok({"conditions": {"$any": {"type": "Available"}}})


def test_array_messages_name_the_closest_element() -> None:
    (msg,) = messages({"conditions": {"$any": {"type": "Available", "status": "False"}}})
    assert msg.startswith("at $.conditions[*]: expected at least one element matching")
    assert 'closest [0]: at $.conditions[0].status: expected "False", found "True"' in msg
    (msg,) = messages(
        {"containers": {"$keyed": {"by": "name", "items": {"ghost": {"image": "x"}}}}}
    )
    assert msg == 'at $.containers[name=ghost]: expected an element with name = "ghost", found none'
    assert messages({"name": {"$any": "x"}}) == ["at $.name: expected an array (any), found string"]


def test_partial_credit_counts_assertions_met() -> None:
    result = match({"metrics": {"f1": {"$gte": 0.8}, "auc": {"$gte": 0.95}}, "name": "fraud"}, DOC)
    assert (result.met, result.total, round(result.share, 3)) == (2, 3, 0.667)
    assert match({}, DOC).share == 1.0


def test_malformed_expectations_are_author_errors() -> None:
    with pytest.raises(ExpectationError, match="a bare list"):
        match({"tags": ["prod", "v2"]}, DOC)
    with pytest.raises(ExpectationError, match="unknown operator"):
        match({"name": {"$like": "f"}}, DOC)
    with pytest.raises(ExpectationError, match="needs a number"):
        match({"name": {"$gte": "a"}}, DOC)
    assert check_expectation(
        {
            "tags": ["prod"],
            "a": {"$wat": 1},
            "b": {"$type": "text"},
            "c": {"$regex": "("},
            "d": {"$abs": 1},
            "e": {"$keyed": {"items": {}}},
        }
    ) == [
        "expect.tags: a bare list; say how the array matches with $exact, $subset, $any, $all "
        "or $keyed",
        "expect.a.$wat: unknown operator",
        "expect.b.$type: unknown type 'text'",
        "expect.c.$regex: bad regular expression: missing ), unterminated subpattern at position 0",
        "expect.d.$abs: only goes with $approx",
        "expect.e.$keyed: needs 'by' and an 'items' mapping",
    ]
    assert (
        check_expectation({"x": {"$exact": [{"$len": 2}]}, "y": {"$approx": 1, "$abs": 0.1}}) == []
    )
