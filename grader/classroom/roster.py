"""The instructor's view of a class: roster, domain heatmap, item analysis and reports.

A learner's class exam is their latest attempt linked to the class (sat here, for example on
a ``certlab serve`` machine, or imported from a bundle). A class lab counts the learner's
latest check run that was imported from a bundle or graded by ``class grade-labs``, or, for
learners working on this machine, run inside the class's opening hours.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from grader.classroom.items import ItemSpec, ItemStats, Response, analyse, chosen_options
from grader.classroom.registry import ClassRecord, members
from grader.exams.presented import Presented
from grader.exams.reports import QuestionReport, list_reports
from grader.store.db import Store


@dataclass(frozen=True)
class LabCell:
    lab: str
    state: str  # passed | failed | not started
    score: float | None = None
    max_score: float | None = None
    at: float | None = None
    source: str | None = None  # local | bundle | graded


@dataclass(frozen=True)
class RosterRow:
    learner: str
    status: str  # not started | in progress | submitted
    attempt_id: int | None
    score: float | None
    passed: bool | None
    answered: int
    total: int
    started_at: float | None
    submitted_at: float | None
    source: str | None  # local | bundle
    labs: list[LabCell] = field(default_factory=list)

    @property
    def labs_passed(self) -> int:
        return sum(1 for c in self.labs if c.state == "passed")

    @property
    def minutes(self) -> float | None:
        if self.started_at is None or self.submitted_at is None:
            return None
        return round((self.submitted_at - self.started_at) / 60, 1)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["labs_passed"] = self.labs_passed
        data["labs_total"] = len(self.labs)
        data["minutes"] = self.minutes
        return data


def latest_attempts(store: Store, record: ClassRecord) -> dict[str, dict[str, Any]]:
    """Each learner's latest class attempt row (with ``learner`` and ``bundle_id``)."""
    rows = store.all(
        """SELECT a.*, l.name AS learner, c.bundle_id FROM class_attempts c
           JOIN attempts a ON a.id = c.attempt_id JOIN learners l ON l.id = c.learner_id
           WHERE c.class_id = ? ORDER BY a.started_at DESC, a.id DESC""",
        record.id,
    )
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        out.setdefault(r["learner"], dict(r))
    return out


def _items(store: Store, attempt_id: int) -> list[Any]:
    return store.all(
        "SELECT * FROM attempt_items WHERE attempt_id = ? ORDER BY position", attempt_id
    )


def lab_cells(store: Store, record: ClassRecord, learner: str) -> list[LabCell]:
    """The learner's standing on each class lab."""
    if not record.labs:
        return []
    marks = ",".join("?" * len(record.labs))
    rows = store.all(
        f"""SELECT r.id, r.at, r.score, r.max_score, r.passed, a.lab_id, c.source
            FROM lab_runs r JOIN lab_attempts a ON a.id = r.lab_attempt_id
            JOIN learners l ON l.id = a.learner_id
            LEFT JOIN class_lab_runs c ON c.run_id = r.id
            WHERE l.name = ? AND a.lab_id IN ({marks}) AND r.cancelled = 0
              AND ((c.run_id IS NULL AND r.at >= ? AND r.at <= ?) OR c.class_id = ?)
            ORDER BY r.at DESC, r.id DESC""",
        learner,
        *record.labs,
        record.opens_at,
        record.closes_at,
        record.id,
    )
    latest: dict[str, Any] = {}
    for r in rows:
        latest.setdefault(r["lab_id"], r)
    cells = []
    for lab in record.labs:
        r = latest.get(lab)
        if r is None:
            cells.append(LabCell(lab, "not started"))
        else:
            cells.append(
                LabCell(
                    lab,
                    "passed" if r["passed"] else "failed",
                    r["score"],
                    r["max_score"],
                    r["at"],
                    r["source"] or "local",
                )
            )
    return cells


def roster(store: Store, record: ClassRecord) -> list[RosterRow]:
    """One row per learner of the class, by name."""
    attempts = latest_attempts(store, record)
    rows = []
    for learner in members(store, record.id):
        a = attempts.get(learner)
        labs = lab_cells(store, record, learner)
        if a is None:
            rows.append(
                RosterRow(learner, "not started", None, None, None, 0, 0, None, None, None, labs)
            )
            continue
        items = _items(store, a["id"])
        submitted = a["status"] == "submitted"
        rows.append(
            RosterRow(
                learner=learner,
                status="submitted" if submitted else "in progress",
                attempt_id=a["id"],
                score=a["score"] if submitted else None,
                passed=bool(a["passed"]) if submitted else None,
                answered=sum(1 for i in items if i["response"] is not None),
                total=len(items),
                started_at=a["started_at"],
                submitted_at=a["submitted_at"],
                source="bundle" if a["bundle_id"] else "local",
                labs=labs,
            )
        )
    return rows


@dataclass(frozen=True)
class Heatmap:
    """Per learner × domain: (correct, total) on the class exam; ``class_row`` pools everyone."""

    domains: list[str]
    rows: list[tuple[str, dict[str, tuple[int, int]]]]
    class_row: dict[str, tuple[int, int]]

    @staticmethod
    def percent(cell: tuple[int, int] | None) -> float | None:
        if not cell or not cell[1]:
            return None
        return round(100.0 * cell[0] / cell[1], 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "domains": self.domains,
            "learners": [
                {"learner": name, "domains": {d: self.percent(cells.get(d)) for d in self.domains}}
                for name, cells in self.rows
            ],
            "class": {d: self.percent(self.class_row.get(d)) for d in self.domains},
        }


def heatmap(store: Store, record: ClassRecord, *, submitted_only: bool = False) -> Heatmap:
    """Percent correct per learner and domain. In a submitted attempt a blank is wrong; in one
    still in progress only the questions answered so far count."""
    domains: list[str] = []
    if record.form is not None:
        domains = list(dict.fromkeys(p.domain for p in record.form.items))
    rows = []
    pooled: dict[str, list[int]] = {}
    for learner, a in sorted(latest_attempts(store, record).items()):
        if submitted_only and a["status"] != "submitted":
            continue
        cells: dict[str, list[int]] = {}
        for i in _items(store, a["id"]):
            if i["domain"] not in domains:
                domains.append(i["domain"])
            if a["status"] != "submitted" and i["response"] is None:
                continue
            tally = cells.setdefault(i["domain"], [0, 0])
            tally[0] += int(bool(i["correct"]))
            tally[1] += 1
        for d, (c, t) in cells.items():
            p = pooled.setdefault(d, [0, 0])
            p[0] += c
            p[1] += t
        rows.append((learner, {d: (c, t) for d, (c, t) in cells.items()}))
    return Heatmap(domains, rows, {d: (c, t) for d, (c, t) in pooled.items()})


def item_analysis(store: Store, record: ClassRecord) -> list[ItemStats]:
    """Item statistics over the learners' latest submitted class attempts."""
    attempts = [a for a in latest_attempts(store, record).values() if a["status"] == "submitted"]
    specs: dict[str, ItemSpec] = {}
    if record.form is not None:
        for pos, p in enumerate(record.form.items):
            specs[p.question_id] = _spec(p, pos)
    responses = []
    for a in attempts:
        for i in _items(store, a["id"]):
            if i["question_id"] not in specs:
                specs[i["question_id"]] = _spec(
                    Presented.from_json(json.loads(i["presented"])), i["position"]
                )
            response = None if i["response"] is None else json.loads(i["response"])
            responses.append(
                Response(
                    a["learner"],
                    i["question_id"],
                    bool(i["correct"]),
                    chosen_options(i["kind"], response),
                )
            )
    return analyse(sorted(specs.values(), key=lambda s: s.position), responses)


def _spec(p: Presented, position: int) -> ItemSpec:
    return ItemSpec(
        question_id=p.question_id,
        domain=p.domain,
        kind=p.kind,
        options=tuple(sorted(p.option_order)) if p.kind in ("single", "multiple") else (),
        key=p.key,
        texts={c.id: c.text for c in p.choices},
        position=position,
    )


def class_reports(store: Store, record: ClassRecord) -> list[QuestionReport]:
    """Learners' reports on the class's questions, from the class's learners, newest first."""
    questions = {p.question_id for p in record.form.items} if record.form else None
    people = set(members(store, record.id))
    return [
        r
        for r in list_reports(store)
        if r.learner in people and (questions is None or r.question_id in questions)
    ]
