"""The writing standard: each lint rule fires on a bank that breaks it, and the real bank passes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from grader.cli import main
from grader.content import load_content
from grader.content.lint import DEFAULT_STANDARD, Standard, lint
from grader.exams.reports import list_reports
from grader.store.db import open_store

# A standard sized for the mini bank, so size rules are quiet unless a test wants them.
SMALL = Standard(min_hand_written={}, domain_factor=0, forms_factor=0)


def _single(qid: str, stem: str, texts: list[str], key: int = 0, **extra: object) -> dict:
    return {
        "id": qid,
        "kind": "single",
        "difficulty": extra.pop("difficulty", 2),
        "stem": stem,
        "options": [
            {
                "id": "abcdef"[i],
                "text": t,
                "correct": i == key,
                "explanation": f"Says why option {i} is {'right' if i == key else 'wrong'}.",
            }
            for i, t in enumerate(texts)
        ],
        "reference": extra.pop("reference", "https://kubernetes.io/docs/"),
        **extra,
    }


def _write(root: Path, level: str, domain: str, questions: list[dict]) -> None:
    path = root / "question_bank" / level / f"{domain}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["questions"] = (doc.get("questions") or []) + questions
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _messages(root: Path, standard: Standard = SMALL) -> list[str]:
    content = load_content(root)
    assert content.errors == [], content.errors
    return [p.message for p in lint(content, standard)]


def _about(root: Path, qid: str) -> list[str]:
    content = load_content(root)
    return [p.message for p in lint(content, SMALL) if p.path == f"question {qid}"]


@pytest.mark.parametrize(
    ("question", "fragment"),
    [
        (
            _single("q-above", "Which applies to drift?", ["All of the above", "PSI", "KS"], key=1),
            "uses 'All of the above'",
        ),
        (
            _single(
                "q-none", "Which applies to skew?", ["None of the options", "PSI", "KS"], key=1
            ),
            "uses 'None of the options'",
        ),
        (
            _single(
                "q-blog",
                "Which store is primary?",
                ["a", "b", "c"],
                reference="https://medium.com/some-post",
            ),
            "not primary documentation",
        ),
        (
            _single(
                "q-wiki",
                "Which source is primary?",
                ["a", "b", "c"],
                reference="https://en.wikipedia.org/wiki/Drift",
            ),
            "not primary documentation",
        ),
        (
            {
                **_single("q-short", "Which explanation is short?", ["a", "b", "c"]),
                "options": [
                    {"id": "a", "text": "a", "correct": True, "explanation": "Yes."},
                    {"id": "b", "text": "b", "explanation": "Because b is not the case here."},
                    {"id": "c", "text": "c", "explanation": "Because c is not the case here."},
                ],
            },
            "explanation does not say why",
        ),
        (
            {
                **_single("q-multi", "Which two are true?", ["a", "b", "c", "d"]),
                "kind": "multiple",
                "choose": 2,
                "options": [
                    {
                        "id": x,
                        "text": x,
                        "correct": x in "ab",
                        "explanation": f"Because {x} is {'true' if x in 'ab' else 'false'} here.",
                    }
                    for x in "abcd"
                ],
            },
            "must say how many to choose",
        ),
    ],
)
def test_each_question_rule_fires(mini_content: Path, question: dict, fragment: str) -> None:
    _write(mini_content, "foundation", "lifecycle", [question])
    found = _about(mini_content, question["id"])
    assert any(fragment in m for m in found), found


def test_a_well_written_question_has_no_findings(mini_content: Path) -> None:
    good = _single(
        "q-good",
        "A canary gets 1 of 5 ready pods. Which share of traffic?",
        ["About 10%", "About 20%", "About 50%", "About 80%"],
        key=1,
    )
    _write(mini_content, "foundation", "lifecycle", [good])
    assert _about(mini_content, "q-good") == []


def test_near_duplicate_stems_are_found(mini_content: Path) -> None:
    stem = "A fraud model's PSI on amount rose to 0.31 over ten reference quantile bins this week"
    _write(
        mini_content,
        "foundation",
        "serving",
        [
            _single("q-dup-1", stem + ". What next?", ["a", "b", "c"]),
            _single("q-dup-2", stem + ". What now?", ["a", "b", "c"]),
        ],
    )
    assert any("near-duplicate of" in m for m in _messages(mini_content))


def test_longest_key_and_position_balance(mini_content: Path) -> None:
    # twelve questions whose key is always the longest option, always in position a
    qs = [
        _single(
            f"q-long-{i}",
            f"Distinct question number {i} about topic {i * 7}?",
            ["the much longer correct option", "short", "brief"],
        )
        for i in range(12)
    ]
    _write(mini_content, "foundation", "monitoring", qs)
    messages = _messages(mini_content)
    assert any("is the longest in" in m for m in messages)
    assert any("at position a in" in m for m in messages)
    assert any("at position d in" in m for m in messages)


def test_difficulty_spread_per_domain(mini_content: Path) -> None:
    messages = _messages(mini_content)
    content = load_content(mini_content)
    for level in content.levels.values():
        for d in level.domains:
            have = {q.difficulty for q in content.questions_for(level.id, d.id)}
            if have and have != {1, 2, 3}:
                assert any(
                    f"{level.id}/{d.id} has no question of difficulty" in m for m in messages
                )


def test_size_rules(mini_content: Path) -> None:
    strict = replace(DEFAULT_STANDARD, min_case_studies={"engineer": 3})
    messages = _messages(mini_content, strict)
    assert any(
        "foundation has" in m and "hand-written questions; the standard is 120" in m
        for m in messages
    )
    assert any("twice its allocation" in m for m in messages)
    assert any("forms of" in m for m in messages)
    assert any("engineer has 1 case studies; the standard is 3" in m for m in messages)
    assert any("case study" in m and "(want 4–6)" in m for m in messages)


def test_the_shipped_bank_meets_the_standard() -> None:
    content = load_content()
    assert content.errors == []
    assert lint(content) == []
    assert main(["content", "lint"]) == 0


def test_content_lint_exits_3_on_findings(
    mini_content: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CERTLAB_CONTENT", str(mini_content))
    assert main(["content", "lint", "--json"]) == 3
    assert '"ok": false' in capsys.readouterr().out


def test_reporting_a_question_records_note_and_hash(capsys: pytest.CaptureFixture[str]) -> None:
    content = load_content()
    question = next(iter(content.questions.values()))
    assert main(["content", "report", question.id, "The key looks wrong to me", "--json"]) == 0
    capsys.readouterr()
    assert main(["content", "report", "no-such-question", "x"]) == 2
    assert main(["content", "report", question.id, "   "]) == 2
    with open_store() as db:
        reports = list_reports(db)
    assert [(r.question_id, r.content_hash, r.note, r.learner) for r in reports] == [
        (question.id, question.content_hash, "The key looks wrong to me", "tester")
    ]
    capsys.readouterr()
    assert main(["content", "reports", "--json"]) == 0
    assert question.id in capsys.readouterr().out
