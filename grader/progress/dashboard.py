"""The learner's picture per level: readiness, mastery per domain, labs, and the next step.

The TUI's home dashboard and ``certlab progress`` both render this; neither computes its own.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.content.loader import Content
from grader.content.stats import full_form
from grader.progress.cards import cards
from grader.store.db import Store

RECENT_EXAMS = 3  # readiness averages this many latest full exams
RECENT_ITEMS = 40  # mastery looks at this many latest answers per domain
MASTERY_TARGET = 70.0


@dataclass(frozen=True)
class DomainMastery:
    domain: str
    title: str
    weight: float
    answered: int
    correct: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.correct / self.answered if self.answered else None


@dataclass(frozen=True)
class LevelProgress:
    level: str
    title: str
    prerequisites: list[str]
    exam: str | None
    scores: list[float]  # full-exam scores, oldest first
    exam_passed: bool
    labs_total: int
    labs_passed: int
    reviews_due: int
    leeches: list[str]
    domains: list[DomainMastery]
    seconds_per_question: float | None  # in the latest full exam
    pace_seconds: float | None  # the exam's allowance per question
    next_step: str
    next_action: dict[str, Any] = field(default_factory=dict)

    @property
    def readiness(self) -> float | None:
        recent = self.scores[-RECENT_EXAMS:]
        return sum(recent) / len(recent) if recent else None

    @property
    def trend(self) -> float | None:
        return self.scores[-1] - self.scores[-2] if len(self.scores) >= 2 else None

    @property
    def complete(self) -> bool:
        """Exam passed and every lab of the level passed."""
        return self.exam_passed and self.labs_passed == self.labs_total

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["readiness"] = None if self.readiness is None else round(self.readiness, 1)
        data["trend"] = None if self.trend is None else round(self.trend, 1)
        data["complete"] = self.complete
        for d, dm in zip(data["domains"], self.domains, strict=True):
            d["percent"] = None if dm.percent is None else round(dm.percent, 1)
        return data


def level_progress(
    store: Store, content: Content, learner: str, now: float | None = None
) -> list[LevelProgress]:
    """Every level's progress for ``learner``, in ladder order."""
    from grader.labs.records import lab_status

    now = time.time() if now is None else now
    learner_row = store.one("SELECT id FROM learners WHERE name = ?", learner)
    learner_id = learner_row["id"] if learner_row else -1
    all_cards = cards(store, learner)
    out = []
    for level in content.levels.values():
        form = full_form(content, level.id)
        exams = store.all(
            """SELECT id, score, passed, minutes FROM attempts
               WHERE learner_id = ? AND form_id = ? AND mode = 'exam' AND status = 'submitted'
               ORDER BY submitted_at""",
            learner_id,
            form.id if form else "",
        )
        domains = []
        for d in level.domains:
            rows = store.all(
                """SELECT i.correct FROM attempt_items i JOIN attempts a ON a.id = i.attempt_id
                   WHERE a.learner_id = ? AND a.level = ? AND i.domain = ?
                     AND i.response IS NOT NULL
                   ORDER BY i.answered_at DESC LIMIT ?""",
                learner_id,
                level.id,
                d.id,
                RECENT_ITEMS,
            )
            domains.append(
                DomainMastery(
                    d.id, d.title, d.weight, len(rows), sum(bool(r["correct"]) for r in rows)
                )
            )
        labs = [lab for lab in content.labs.values() if lab.level == level.id]
        statuses = {lab.id: lab_status(store, lab, learner) for lab in labs}
        mine = [c for c in all_cards if c.level == level.id]
        due = [c for c in mine if c.due <= now]
        spq = pace = None
        if exams:
            last = exams[-1]
            times = store.one(
                "SELECT AVG(time_spent) AS t, COUNT(*) AS n FROM attempt_items "
                "WHERE attempt_id = ?",
                last["id"],
            )
            spq = times["t"]
            pace = last["minutes"] * 60 / times["n"] if last["minutes"] and times["n"] else None
        progress = LevelProgress(
            level=level.id,
            title=level.title,
            prerequisites=list(level.prerequisites),
            exam=form.id if form else None,
            scores=[r["score"] for r in exams],
            exam_passed=any(r["passed"] for r in exams),
            labs_total=len(labs),
            labs_passed=sum(s.passed for s in statuses.values()),
            reviews_due=len(due),
            leeches=[c.question_id for c in mine if c.leech],
            domains=domains,
            seconds_per_question=spq,
            pace_seconds=pace,
            next_step="",
        )
        step, action = _next_step(progress, labs, statuses, form)
        out.append(LevelProgress(**{**progress.__dict__, "next_step": step, "next_action": action}))
    return out


def _next_step(
    p: LevelProgress, labs: list[Any], statuses: dict[str, Any], form: Any
) -> tuple[str, dict[str, Any]]:
    """The one thing most worth doing next at this level."""
    if p.reviews_due:
        return (
            f"Review {p.reviews_due} due card(s) of questions you missed",
            {"do": "review", "level": p.level},
        )
    unseen = [d for d in p.domains if d.answered == 0]
    weak = sorted(
        (d for d in p.domains if d.percent is not None and d.percent < MASTERY_TARGET),
        key=lambda d: (d.percent, -d.weight),
    )
    if weak:
        d = weak[0]
        return (
            f"Drill {d.title} ({d.percent:.0f}% of your last {d.answered} answers)",
            {"do": "drill", "level": p.level, "domain": d.domain},
        )
    if unseen and p.scores == []:
        d = max(unseen, key=lambda d: d.weight)
        return (
            f"Practise {d.title}: you have not answered any yet",
            {"do": "drill", "level": p.level, "domain": d.domain},
        )
    todo = [lab for lab in labs if not statuses[lab.id].passed]
    if todo:
        return f"Work the lab “{todo[0].title}”", {"do": "lab", "lab": todo[0].id}
    if not p.exam_passed and form is not None:
        return f"Sit the {form.title}", {"do": "exam", "form": form.id}
    return "Level complete", {"do": "none"}
