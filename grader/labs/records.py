"""Lab progress in SQLite: check runs with every result, hints used, best and latest scores."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from grader.labs.model import Lab
from grader.labs.runner import LabRun
from grader.labs.workspace import attempt_row, require_started
from grader.store.db import Store


def record_run(store: Store, attempt_id: int, run: LabRun) -> int:
    """Store a check run and every check's result; returns the run id."""
    with store.conn as conn:
        cur = conn.execute(
            "INSERT INTO lab_runs (lab_attempt_id, at, score, max_score, passed, backend, "
            "cancelled) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                attempt_id,
                time.time(),
                run.score,
                run.max_score,
                int(run.passed),
                run.backend,
                int(run.cancelled),
            ),
        )
        run_id = int(cur.lastrowid or 0)
        conn.executemany(
            "INSERT INTO lab_check_results (run_id, task_id, check_id, status, required, points, "
            "max_points, message, evidence, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    r.task_id,
                    r.check_id,
                    r.status,
                    int(r.required),
                    r.points,
                    r.max_points,
                    r.message,
                    json.dumps(r.evidence, default=str),
                    r.seconds,
                )
                for r in run.results
            ],
        )
    return run_id


@dataclass(frozen=True)
class Hint:
    task_id: str
    index: int  # 0-based
    total: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def hints_used(store: Store, attempt_id: int) -> dict[str, int]:
    """How many hints each task has revealed."""
    rows = store.all(
        "SELECT task_id, MAX(hint_index) + 1 AS n FROM lab_hints WHERE lab_attempt_id = ? "
        "GROUP BY task_id",
        attempt_id,
    )
    return {r["task_id"]: r["n"] for r in rows}


def failing_task(store: Store, lab: Lab, attempt_id: int) -> str:
    """The first task with a required check not passing in the latest run (else the first)."""
    latest = store.one(
        "SELECT id FROM lab_runs WHERE lab_attempt_id = ? ORDER BY id DESC LIMIT 1", attempt_id
    )
    if latest is None:
        return lab.tasks[0].id
    passed = {
        r["check_id"]
        for r in store.all(
            "SELECT check_id FROM lab_check_results WHERE run_id = ? AND status = 'passed'",
            latest["id"],
        )
    }
    for task in lab.tasks:
        if any(c.required and c.id not in passed for c in task.checks):
            return task.id
    return lab.tasks[-1].id


def next_hint(store: Store, lab: Lab, learner: str, task_id: str | None = None) -> Hint:
    """Reveal (and record) the next hint of a task: the first unfinished task by default."""
    row = require_started(store, lab, learner)
    task = lab.task(task_id) if task_id else lab.task(failing_task(store, lab, row["id"]))
    used = hints_used(store, row["id"]).get(task.id, 0)
    index = min(used, len(task.hints) - 1)
    if used < len(task.hints):
        with store.conn as conn:
            conn.execute(
                "INSERT INTO lab_hints (lab_attempt_id, task_id, hint_index, at) "
                "VALUES (?, ?, ?, ?)",
                (row["id"], task.id, index, time.time()),
            )
    return Hint(task.id, index, len(task.hints), task.hints[index])


@dataclass(frozen=True)
class LabStatus:
    lab: str
    started: bool
    workspace: str | None
    runs: int
    best: float | None
    latest: float | None
    max_score: float
    passed: bool
    hints: int
    checks: list[dict[str, Any]]

    @property
    def state(self) -> str:
        if not self.started:
            return "not started"
        if self.passed:
            return "passed"
        return "in progress" if self.runs else "started"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state
        return data


def lab_status(store: Store, lab: Lab, learner: str) -> LabStatus:
    """Where the learner stands on ``lab``."""
    row = attempt_row(store, lab, learner)
    if row is None:
        return LabStatus(lab.id, False, None, 0, None, None, lab.max_score, False, 0, [])
    runs = store.all(
        "SELECT * FROM lab_runs WHERE lab_attempt_id = ? AND cancelled = 0 ORDER BY id",
        row["id"],
    )
    checks: list[dict[str, Any]] = []
    if runs:
        checks = [
            {k: r[k] for k in ("task_id", "check_id", "status", "points", "max_points", "message")}
            for r in store.all(
                "SELECT * FROM lab_check_results WHERE run_id = ? ORDER BY rowid", runs[-1]["id"]
            )
        ]
    return LabStatus(
        lab=lab.id,
        started=True,
        workspace=row["workspace"],
        runs=len(runs),
        best=max((r["score"] for r in runs), default=None),
        latest=runs[-1]["score"] if runs else None,
        max_score=lab.max_score,
        passed=any(r["passed"] for r in runs),
        hints=sum(hints_used(store, row["id"]).values()),
        checks=checks,
    )


def results_rows(store: Store, learner: str | None = None) -> list[dict[str, Any]]:
    """Every learner's latest run of every lab with its check results (for exports)."""
    runs = store.all(
        """SELECT r.*, a.lab_id, a.content_hash, l.name AS learner FROM lab_runs r
           JOIN lab_attempts a ON a.id = r.lab_attempt_id
           JOIN learners l ON l.id = a.learner_id
           WHERE r.cancelled = 0 AND (? IS NULL OR l.name = ?)
             AND r.id = (SELECT MAX(r2.id) FROM lab_runs r2
                         WHERE r2.lab_attempt_id = r.lab_attempt_id AND r2.cancelled = 0)
           ORDER BY l.name, a.lab_id""",
        learner,
        learner,
    )
    out = []
    for run in runs:
        checks = [
            {
                "task": c["task_id"],
                "id": c["check_id"],
                "status": c["status"],
                "passed": c["status"] == "passed",
                "required": bool(c["required"]),
                "points": c["points"],
                "max_points": c["max_points"],
                "message": c["message"],
                "seconds": c["seconds"],
            }
            for c in store.all(
                "SELECT * FROM lab_check_results WHERE run_id = ? ORDER BY rowid", run["id"]
            )
        ]
        out.append(
            {
                "learner": run["learner"],
                "lab": run["lab_id"],
                "at": run["at"],
                "score": run["score"],
                "max_score": run["max_score"],
                "passed": bool(run["passed"]),
                "backend": run["backend"],
                "content_hash": run["content_hash"],
                "checks": checks,
            }
        )
    return out
