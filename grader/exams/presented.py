"""A question as one attempt shows it: options in this attempt's order, parameters filled in.

An attempt stores a snapshot of every presented question, so resuming and reviewing never
depend on the bank staying the same, and later edits never rewrite history.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.content.model import Question


@dataclass(frozen=True)
class Choice:
    id: str
    text: str
    explanation: str
    correct: bool = False


@dataclass(frozen=True)
class Presented:
    """What the learner sees for one item, and the key to score it."""

    question_id: str
    domain: str
    kind: str  # single | multiple | ordering | numeric (a parametric question resolves to one)
    stem: str
    reference: str
    difficulty: int
    content_hash: str
    choices: tuple[Choice, ...] = ()
    choose: int = 0
    key: tuple[str, ...] = ()  # correct ids (choice kinds) or the right order (ordering)
    answer: float | None = None  # numeric
    tolerance: float = 0.0
    unit: str = ""
    explanation: str = ""
    case_id: str = ""
    case_title: str = ""
    case_scenario: str = ""
    generated_from: str = ""  # the generator's name, for parametric questions
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def option_order(self) -> list[str]:
        """The ids in the order shown."""
        return [c.id for c in self.choices]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_json` reverses it."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Presented:
        """Rebuild from :meth:`to_json`'s output."""
        data = dict(data)
        data["choices"] = tuple(Choice(**c) for c in data.get("choices", ()))
        data["key"] = tuple(data.get("key", ()))
        return cls(**data)


def item_seed(seed: int, question_id: str) -> int:
    """A per-question seed derived from the attempt's seed (stable across Python runs)."""
    digest = hashlib.sha256(f"{seed}:{question_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def present(question: Question, seed: int, *, shuffle: bool = True) -> Presented:
    """Present ``question`` for an attempt with ``seed``.

    Choice options are shuffled by the seed; ordering items never are (they are authored
    scrambled); parametric questions are generated from the seed.
    """
    case = question.case
    common: dict[str, Any] = {
        "question_id": question.id,
        "domain": question.domain,
        "reference": question.reference,
        "difficulty": question.difficulty,
        "content_hash": question.content_hash,
        "case_id": case.id if case else "",
        "case_title": case.title if case else "",
        "case_scenario": case.scenario if case else "",
    }
    rng = random.Random(item_seed(seed, question.id))
    if question.kind == "parametric":
        return _generated(question, rng.getrandbits(63), common)
    choices = [Choice(o.id, o.text, o.explanation, o.correct) for o in question.options]
    if shuffle and question.kind in ("single", "multiple"):
        rng.shuffle(choices)
    return Presented(
        kind=question.kind,
        stem=question.stem,
        choices=tuple(choices),
        choose=question.choose,
        key=question.correct_ids,
        answer=float(question.answer) if question.kind == "numeric" else None,
        tolerance=question.tolerance,
        unit=question.unit,
        explanation=question.explanation,
        **common,
    )


def _generated(question: Question, gen_seed: int, common: dict[str, Any]) -> Presented:
    from grader.exams.generators import generate

    g = generate(question.generator, gen_seed)
    choices = tuple(
        Choice(o["id"], o["text"], o["explanation"], bool(o["correct"])) for o in g.options
    )
    return Presented(
        kind=g.kind,
        stem=g.stem,
        choices=choices,
        key=tuple(c.id for c in choices if c.correct),
        answer=g.answer,
        tolerance=g.tolerance,
        unit=g.unit,
        explanation=g.explanation,
        generated_from=question.generator,
        params=dict(g.params),
        **common,
    )
