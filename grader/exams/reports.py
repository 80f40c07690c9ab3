"""Learners' reports of questions they think are wrong, for the author or instructor."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from grader.store.db import Store


@dataclass(frozen=True)
class QuestionReport:
    id: int
    learner: str
    question_id: str
    content_hash: str
    attempt_id: int | None
    note: str
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def report_question(
    store: Store,
    learner: str,
    question_id: str,
    content_hash: str,
    note: str,
    attempt_id: int | None = None,
) -> int:
    """Record a learner's note on a question (with the content hash they saw); returns its id."""
    note = note.strip()
    if not note:
        raise ValueError("a report needs a note saying what is wrong")
    learner_id = store.learner_id(learner)
    with store.conn as conn:
        cur = conn.execute(
            "INSERT INTO question_reports (learner_id, question_id, content_hash, attempt_id, "
            "note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (learner_id, question_id, content_hash, attempt_id, note, time.time()),
        )
    return int(cur.lastrowid or 0)


def list_reports(store: Store) -> list[QuestionReport]:
    """Every report, newest first."""
    rows = store.all(
        """SELECT r.*, l.name AS learner FROM question_reports r
           JOIN learners l ON l.id = r.learner_id ORDER BY r.created_at DESC, r.id DESC"""
    )
    return [
        QuestionReport(
            r["id"],
            r["learner"],
            r["question_id"],
            r["content_hash"],
            r["attempt_id"],
            r["note"],
            r["created_at"],
        )
        for r in rows
    ]
