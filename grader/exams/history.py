"""Reading a learner's exam history: attempt summaries and the per-level overview."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from grader.store.db import Store


@dataclass(frozen=True)
class AttemptSummary:
    id: int
    learner: str
    form_id: str
    title: str
    level: str
    mode: str
    status: str
    started_at: float
    submitted_at: float | None
    score: float | None
    passed: bool | None
    auto_submitted: bool
    items: int
    answered: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def attempts(
    store: Store, learner: str | None = None, *, limit: int | None = None
) -> list[AttemptSummary]:
    """Attempts, newest first (one learner's, or everybody's when ``learner`` is None)."""
    rows = store.all(
        f"""SELECT a.*, l.name AS learner,
               (SELECT COUNT(*) FROM attempt_items i WHERE i.attempt_id = a.id) AS n_items,
               (SELECT COUNT(*) FROM attempt_items i
                 WHERE i.attempt_id = a.id AND i.response IS NOT NULL) AS n_answered
            FROM attempts a JOIN learners l ON l.id = a.learner_id
            WHERE (? IS NULL OR l.name = ?)
            ORDER BY a.started_at DESC, a.id DESC {"LIMIT ?" if limit else ""}""",
        learner,
        learner,
        *([limit] if limit else []),
    )
    return [
        AttemptSummary(
            id=r["id"],
            learner=r["learner"],
            form_id=r["form_id"],
            title=r["title"],
            level=r["level"],
            mode=r["mode"],
            status=r["status"],
            started_at=r["started_at"],
            submitted_at=r["submitted_at"],
            score=r["score"],
            passed=None if r["passed"] is None else bool(r["passed"]),
            auto_submitted=bool(r["auto_submitted"]),
            items=r["n_items"],
            answered=r["n_answered"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class LevelStanding:
    level: str
    attempts: int
    best: float | None
    last: float | None
    passed: bool


def standings(store: Store, learner: str) -> dict[str, LevelStanding]:
    """Per level: submitted full-exam attempts, best and latest score, and whether passed."""
    rows = store.all(
        """SELECT a.level, a.score, a.passed FROM attempts a JOIN learners l ON l.id = a.learner_id
           WHERE l.name = ? AND a.mode = 'exam' AND a.status = 'submitted'
           ORDER BY a.submitted_at""",
        learner,
    )
    out: dict[str, LevelStanding] = {}
    for r in rows:
        prev = out.get(r["level"])
        best = r["score"] if prev is None or prev.best is None else max(prev.best, r["score"])
        out[r["level"]] = LevelStanding(
            level=r["level"],
            attempts=(prev.attempts if prev else 0) + 1,
            best=best,
            last=r["score"],
            passed=bool(r["passed"]) or bool(prev and prev.passed),
        )
    return out
