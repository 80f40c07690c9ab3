"""Plain helpers shared by the tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.exams.presented import Presented

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
MINI = TESTS / "fixtures" / "mini"


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def right_answer(p: Presented) -> Any:
    """A response that scores as correct for ``p``."""
    if p.kind == "single":
        return p.key[0]
    if p.kind in ("multiple", "ordering"):
        return list(p.key)
    assert p.answer is not None
    return p.answer


def wrong_answer(p: Presented) -> Any:
    """A well-formed response that scores as wrong for ``p``."""
    if p.kind == "single":
        return next(i for i in p.option_order if i not in p.key)
    if p.kind == "multiple":
        wrong = [i for i in p.option_order if i not in p.key]
        return [*p.key[:-1], wrong[0]]
    if p.kind == "ordering":
        return list(reversed(p.key))
    assert p.answer is not None
    return p.answer + p.tolerance + 10
