"""The content model: levels and domains, exam forms and questions, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["single", "multiple", "ordering", "numeric", "parametric"]


@dataclass(frozen=True)
class Domain:
    id: str
    title: str
    weight: float


@dataclass(frozen=True)
class Level:
    id: str
    title: str
    summary: str
    prerequisites: tuple[str, ...]
    domains: tuple[Domain, ...]
    rank: int

    def domain(self, domain_id: str) -> Domain | None:
        """The domain with this id, or None."""
        return next((d for d in self.domains if d.id == domain_id), None)


@dataclass(frozen=True)
class ExamForm:
    id: str
    title: str
    level: str
    minutes: int
    questions: int
    pass_mark: float
    description: str = ""
    prefer_case_studies: bool = False
    file: str = ""
    line: int = 1


@dataclass(frozen=True)
class Option:
    """A choice (``single``/``multiple``) or an item to place (``ordering``)."""

    id: str
    text: str
    explanation: str
    correct: bool = False


@dataclass(frozen=True)
class CaseStudy:
    id: str
    title: str
    scenario: str


@dataclass(frozen=True)
class Question:
    id: str
    level: str
    domain: str
    kind: Kind
    difficulty: int
    reference: str
    content_hash: str
    file: str
    line: int
    stem: str = ""
    explanation: str = ""
    options: tuple[Option, ...] = ()
    choose: int = 0
    answer: Any = None
    tolerance: float = 0.0
    unit: str = ""
    generator: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    case: CaseStudy | None = None
    tags: tuple[str, ...] = ()

    @property
    def correct_ids(self) -> tuple[str, ...]:
        """The key: correct option ids (choice kinds) or the right order (ordering)."""
        if self.kind == "ordering":
            return tuple(self.answer or ())
        return tuple(o.id for o in self.options if o.correct)
