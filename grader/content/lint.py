"""The writing standard for the question bank, beyond what validation checks.

Validation asks "can certlab use this?"; lint asks "is this written to exam standard?". Each
finding names the question's file and line. Rules:

- every option's explanation says why (at least a short sentence), and every question cites
  primary documentation (not a blog, forum or encyclopedia);
- no "all of the above" / "none of the above";
- the correct option is the longest in at most 35% of a level's single-choice questions, and
  each correct position (a, b, c, d) holds 15–35% of them as written;
- multi-select stems say how many to choose;
- no two stems are near-duplicates;
- every domain spreads difficulty 1, 2 and 3;
- the bank is big enough: hand-written counts per level, twice each domain's allocation,
  architect case studies, and ordering and multi-select items where the issue asks for them.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from grader.content.loader import Content
from grader.content.model import Question
from grader.content.problems import Problem
from grader.content.stats import full_form
from grader.exams.blueprint import allocate


@dataclass(frozen=True)
class Standard:
    """The numbers the bank is held to."""

    min_hand_written: dict[str, int]
    domain_factor: float = 2.0  # each domain holds this many times its allocation
    forms_factor: float = 2.5  # the level holds this many full forms' worth of questions
    longest_correct_max: float = 0.35
    position_min: float = 0.15
    position_max: float = 0.35
    near_duplicate: float = 0.8  # Jaccard similarity of word trigrams
    min_explanation_chars: int = 20
    min_case_studies: dict[str, int] | None = None
    case_questions: tuple[int, int] = (4, 6)
    needs_ordering_and_multiple: tuple[str, ...] = ("professional", "architect")


DEFAULT_STANDARD = Standard(
    min_hand_written={"foundation": 120, "engineer": 160, "professional": 200, "architect": 150},
    min_case_studies={"architect": 12},
)

#: hosts that are not primary documentation
SECONDARY_HOSTS = (
    "medium.com",
    "towardsdatascience.com",
    "stackoverflow.com",
    "stackexchange.com",
    "wikipedia.org",
    "reddit.com",
    "quora.com",
    "geeksforgeeks.org",
    "w3schools.com",
    "tutorialspoint.com",
    "youtube.com",
    "blogspot.com",
    "dev.to",
    "substack.com",
)
_ABOVE = re.compile(r"\b(all|none|both|neither) of the (above|options|answers)\b", re.I)
_WORD = re.compile(r"[a-z0-9]+")


def _where(q: Question, message: str, path: str = "", severity: str = "error") -> Problem:
    return Problem(q.file, q.line, path or f"question {q.id}", message, severity)  # type: ignore[arg-type]


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def lint(content: Content, standard: Standard = DEFAULT_STANDARD) -> list[Problem]:
    """Every finding against the writing standard (errors fail CI)."""
    found: list[Problem] = []
    questions = list(content.questions.values())
    for q in questions:
        found += _question_findings(q, standard)
    for level in content.levels.values():
        mine = [q for q in questions if q.level == level.id]
        found += _balance(level.id, mine, standard)
        found += _size(content, level.id, mine, standard)
        for domain in level.domains:
            found += _difficulty_spread(
                level.id, domain.id, [q for q in mine if q.domain == domain.id]
            )
    found += _near_duplicates(questions, standard)
    return sorted(found)


def _question_findings(q: Question, standard: Standard) -> list[Problem]:
    found = []
    host = urlparse(q.reference).hostname or ""
    if any(host == h or host.endswith("." + h) for h in SECONDARY_HOSTS):
        found.append(_where(q, f"reference {host} is not primary documentation"))
    for o in q.options:
        if _ABOVE.search(o.text):
            found.append(_where(q, f"option {o.id} uses '{_ABOVE.search(o.text).group(0)}'"))  # type: ignore[union-attr]
        if len(o.explanation.strip()) < standard.min_explanation_chars:
            found.append(_where(q, f"option {o.id}'s explanation does not say why"))
    if q.kind == "multiple" and not re.search(
        rf"\bchoose\s+({q.choose}|{_NUMBER_WORDS.get(q.choose, '')})\b", q.stem, re.I
    ):
        found.append(_where(q, f"a multi-select stem must say how many to choose ({q.choose})"))
    if (
        q.kind in ("ordering", "numeric")
        and len(q.explanation.strip()) < standard.min_explanation_chars
    ):
        found.append(_where(q, "the explanation must show the working or the sequence"))
    return found


_NUMBER_WORDS = {2: "two", 3: "three", 4: "four"}


def _balance(level: str, questions: list[Question], standard: Standard) -> list[Problem]:
    singles = [q for q in questions if q.kind == "single"]
    if len(singles) < 10:  # too few for shares to mean anything
        return []
    found = []
    longest = [
        q
        for q in singles
        if max(len(o.text) for o in q.options) == len(next(o for o in q.options if o.correct).text)
    ]
    share = len(longest) / len(singles)
    file = f"question_bank/{level}"
    if share > standard.longest_correct_max:
        found.append(
            Problem(
                file,
                0,
                "",
                (
                    f"the correct option is the longest in {share:.0%} of {level}'s single-choice "
                    f"questions (at most {standard.longest_correct_max:.0%})"
                ),
            )
        )
    positions = Counter(next(i for i, o in enumerate(q.options) if o.correct) for q in singles)
    for pos in range(4):
        s = positions.get(pos, 0) / len(singles)
        if not standard.position_min <= s <= standard.position_max:
            found.append(
                Problem(
                    file,
                    0,
                    "",
                    (
                        f"the correct option is at position {'abcd'[pos]} in {s:.0%} of {level}'s "
                        f"single-choice questions (want {standard.position_min:.0%}–"
                        f"{standard.position_max:.0%})"
                    ),
                )
            )
    return found


def _difficulty_spread(level: str, domain: str, questions: list[Question]) -> list[Problem]:
    if not questions:
        return []
    have = {q.difficulty for q in questions}
    missing = sorted({1, 2, 3} - have)
    if missing:
        return [
            Problem(
                questions[0].file,
                0,
                "",
                (f"{level}/{domain} has no question of difficulty {', '.join(map(str, missing))}"),
            )
        ]
    return []


def _size(
    content: Content, level: str, questions: list[Question], standard: Standard
) -> list[Problem]:
    found = []
    file = f"question_bank/{level}"
    hand = [q for q in questions if q.kind != "parametric"]
    want = standard.min_hand_written.get(level, 0)
    if len(hand) < want:
        found.append(
            Problem(
                file,
                0,
                "",
                f"{level} has {len(hand)} hand-written questions; the standard is {want}",
            )
        )
    form = full_form(content, level)
    if form is not None and len(questions) < standard.forms_factor * form.questions:
        need = int(standard.forms_factor * form.questions + 0.999)
        found.append(
            Problem(
                file,
                0,
                "",
                (
                    f"{level} holds {len(questions)} questions; {standard.forms_factor:g} forms of "
                    f"{form.questions} need {need}"
                ),
            )
        )
    if form is not None:
        lvl = content.levels[level]
        per_domain = Counter(q.domain for q in questions)
        for domain, n in allocate(form.questions, {d.id: d.weight for d in lvl.domains}).items():
            need = int(standard.domain_factor * n + 0.999)
            if per_domain.get(domain, 0) < need:
                found.append(
                    Problem(
                        f"{file}/{domain}.yaml",
                        0,
                        "",
                        (
                            f"{level}/{domain} holds {per_domain.get(domain, 0)} questions; "
                            f"twice its allocation of {n} is {need}"
                        ),
                    )
                )
    cases: dict[str, list[Question]] = defaultdict(list)
    for q in questions:
        if q.case:
            cases[q.case.id].append(q)
    want_cases = (standard.min_case_studies or {}).get(level, 0)
    if want_cases:
        if len(cases) < want_cases:
            found.append(
                Problem(
                    file,
                    0,
                    "",
                    f"{level} has {len(cases)} case studies; the standard is {want_cases}",
                )
            )
        lo, hi = standard.case_questions
        for case_id, qs in cases.items():
            if not lo <= len(qs) <= hi:
                found.append(
                    _where(qs[0], f"case study {case_id} has {len(qs)} questions (want {lo}–{hi})")
                )
    if level in standard.needs_ordering_and_multiple:
        kinds = Counter(q.kind for q in questions)
        for kind in ("ordering", "multiple"):
            if not kinds.get(kind):
                found.append(Problem(file, 0, "", f"{level} has no {kind} questions"))
    return found


def _near_duplicates(questions: list[Question], standard: Standard) -> list[Problem]:
    found = []
    shingles = [(q, _shingles(q.stem)) for q in questions if q.stem]
    # An inverted index keeps this well below all-pairs on a large bank.
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, (_, s) in enumerate(shingles):
        for sh in s:
            index[sh].append(i)
    for i, (q, s) in enumerate(shingles):
        overlap: Counter[int] = Counter()
        for sh in s:
            for j in index[sh]:
                if j > i:
                    overlap[j] += 1
        for j, common in overlap.items():
            other, t = shingles[j]
            similarity = common / len(s | t)
            if similarity >= standard.near_duplicate:
                found.append(
                    _where(q, f"stem is a near-duplicate of {other.id} ({similarity:.0%} alike)")
                )
    return found


def lint_json(problems: list[Problem]) -> dict[str, Any]:
    """Lint findings as JSON."""
    return {
        "ok": not any(p.severity == "error" for p in problems),
        "problems": [p.to_dict() for p in problems],
    }
