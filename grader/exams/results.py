"""Results of an attempt: score, pass or fail, per-domain breakdown, time per question."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.exams.session import Session

#: shown wherever a score is: certlab reports raw percentages, real exams scale their scores
SCALED_SCORE_NOTE = (
    "certlab reports a raw percentage. Real certification exams report scaled scores "
    "(for example 100–1000 with a cut score set by experts), so this pass mark is a stand-in."
)


@dataclass(frozen=True)
class DomainScore:
    domain: str
    correct: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.total if self.total else 0.0


@dataclass(frozen=True)
class ItemTime:
    position: int
    question_id: str
    domain: str
    seconds: float
    correct: bool


@dataclass(frozen=True)
class Result:
    attempt_id: int
    title: str
    level: str
    mode: str
    score: float
    correct: int
    total: int
    pass_mark: float
    passed: bool
    submitted: bool
    auto_submitted: bool
    domains: list[DomainScore] = field(default_factory=list)
    times: list[ItemTime] = field(default_factory=list)
    pace_seconds: float | None = None  # the exam's time per question
    note: str = SCALED_SCORE_NOTE

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        data = asdict(self)
        for d, ds in zip(data["domains"], self.domains, strict=True):
            d["percent"] = round(ds.percent, 1)
        return data


def compute_result(session: Session, extra_time: dict[int, float] | None = None) -> Result:
    """Score ``session`` from its stored correctness (so later bank edits never rescore it)."""
    extra_time = extra_time or {}
    items = session.items
    correct = sum(bool(i.correct) for i in items)
    total = len(items)
    score = 100.0 * correct / total if total else 0.0
    per: dict[str, list[int]] = {}
    for i in items:
        tally = per.setdefault(i.presented.domain, [0, 0])
        tally[0] += bool(i.correct)
        tally[1] += 1
    row = session.row
    minutes = row.get("minutes")
    return Result(
        attempt_id=session.attempt_id,
        title=session.title,
        level=session.level,
        mode=session.mode,
        score=round(score, 2),
        correct=correct,
        total=total,
        pass_mark=row["pass_mark"],
        passed=score >= row["pass_mark"],
        submitted=session.submitted,
        auto_submitted=bool(row.get("auto_submitted")),
        domains=[DomainScore(d, c, t) for d, (c, t) in sorted(per.items())],
        times=[
            ItemTime(
                i.position,
                i.presented.question_id,
                i.presented.domain,
                round(i.time_spent + extra_time.get(i.position, 0.0), 1),
                bool(i.correct),
            )
            for i in items
        ],
        pace_seconds=(minutes * 60 / total) if minutes and total else None,
    )
