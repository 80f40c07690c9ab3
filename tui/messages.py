"""Messages the app's screens and widgets post to each other."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class JumpTo(Message):
    """Go to the question at ``position`` (0-based)."""

    position: int


@dataclass
class ContentLoaded(Message):
    """The full question bank finished loading in its worker."""

    questions: int
    errors: int


@dataclass
class CheckProgress(Message):
    """A lab check finished in the grading worker."""

    done: int
    total: int
    result: object  # grader.labs.runner.CheckResult
