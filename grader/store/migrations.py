"""Schema migrations. Each function moves the schema up one version; never edit a shipped one."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _run(conn: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the migration's open transaction; run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE learners (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at REAL NOT NULL
        );
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            form_id TEXT NOT NULL,
            level TEXT NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('exam', 'practice', 'drill')),
            title TEXT NOT NULL,
            seed INTEGER NOT NULL,
            domain TEXT,
            pass_mark REAL NOT NULL,
            minutes INTEGER,
            started_at REAL NOT NULL,
            deadline_at REAL,
            current_index INTEGER NOT NULL DEFAULT 0,
            entered_at REAL NOT NULL,
            last_activity_at REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'submitted')),
            submitted_at REAL,
            auto_submitted INTEGER NOT NULL DEFAULT 0,
            score REAL,
            passed INTEGER
        );
        CREATE INDEX attempts_by_learner ON attempts (learner_id, level, status);
        CREATE TABLE attempt_items (
            attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            question_id TEXT NOT NULL,
            domain TEXT NOT NULL,
            kind TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            option_order TEXT NOT NULL,
            presented TEXT NOT NULL,
            response TEXT,
            correct INTEGER,
            flagged INTEGER NOT NULL DEFAULT 0,
            time_spent REAL NOT NULL DEFAULT 0,
            answered_at REAL,
            PRIMARY KEY (attempt_id, position)
        );
        CREATE INDEX items_by_question ON attempt_items (question_id);
        CREATE TABLE attempt_events (
            id INTEGER PRIMARY KEY,
            attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            position INTEGER,
            data TEXT
        );
        CREATE TABLE question_reports (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            question_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            attempt_id INTEGER,
            note TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1]
