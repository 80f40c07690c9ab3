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


def _v2(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE lab_attempts (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            lab_id TEXT NOT NULL,
            workspace TEXT NOT NULL,
            seed INTEGER NOT NULL,
            content_hash TEXT NOT NULL,
            started_at REAL NOT NULL,
            reset_at REAL,
            solved_at REAL
        );
        CREATE INDEX lab_attempts_by_learner ON lab_attempts (learner_id, lab_id);
        CREATE TABLE lab_runs (
            id INTEGER PRIMARY KEY,
            lab_attempt_id INTEGER NOT NULL REFERENCES lab_attempts(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            score REAL NOT NULL,
            max_score REAL NOT NULL,
            passed INTEGER NOT NULL,
            backend TEXT,
            cancelled INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE lab_check_results (
            run_id INTEGER NOT NULL REFERENCES lab_runs(id) ON DELETE CASCADE,
            task_id TEXT NOT NULL,
            check_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('passed', 'failed', 'not_gradable', 'skipped')),
            required INTEGER NOT NULL,
            points REAL NOT NULL,
            max_points REAL NOT NULL,
            message TEXT NOT NULL,
            evidence TEXT,
            seconds REAL NOT NULL DEFAULT 0,
            PRIMARY KEY (run_id, check_id)
        );
        CREATE TABLE lab_hints (
            id INTEGER PRIMARY KEY,
            lab_attempt_id INTEGER NOT NULL REFERENCES lab_attempts(id) ON DELETE CASCADE,
            task_id TEXT NOT NULL,
            hint_index INTEGER NOT NULL,
            at REAL NOT NULL
        );
        """,
    )


def _v3(conn: sqlite3.Connection) -> None:
    _run(
        conn,
        """
        CREATE TABLE cards (
            id INTEGER PRIMARY KEY,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            question_id TEXT NOT NULL,
            level TEXT NOT NULL,
            domain TEXT NOT NULL,
            card TEXT NOT NULL,
            due REAL NOT NULL,
            lapses INTEGER NOT NULL DEFAULT 0,
            reviews INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            reason TEXT NOT NULL,
            UNIQUE (learner_id, question_id)
        );
        CREATE INDEX cards_due ON cards (learner_id, due);
        CREATE TABLE card_reviews (
            id INTEGER PRIMARY KEY,
            card_id INTEGER NOT NULL REFERENCES cards(id) ON DELETE CASCADE,
            at REAL NOT NULL,
            rating INTEGER NOT NULL,
            source TEXT NOT NULL,
            attempt_id INTEGER
        );
        """,
    )


def _v4(conn: sqlite3.Connection) -> None:
    """Classrooms: classes, their members, signed result bundles and what they imported."""
    _run(
        conn,
        """
        CREATE TABLE classes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('instructor', 'learner')),
            level TEXT NOT NULL,
            form_id TEXT NOT NULL,
            seed INTEGER NOT NULL,
            opens_at REAL NOT NULL,
            closes_at REAL NOT NULL,
            labs TEXT NOT NULL,
            key_scheme TEXT NOT NULL CHECK (key_scheme IN ('class', 'learner')),
            key TEXT NOT NULL,
            learner TEXT,
            form_digest TEXT NOT NULL,
            form TEXT,
            created_at REAL NOT NULL
        );
        CREATE TABLE class_members (
            class_id TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
            learner TEXT NOT NULL,
            issued_at REAL,
            joined_at REAL,
            PRIMARY KEY (class_id, learner)
        );
        CREATE TABLE class_bundles (
            bundle_id TEXT PRIMARY KEY,
            class_id TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
            learner TEXT NOT NULL,
            created_at REAL NOT NULL,
            imported_at REAL NOT NULL,
            digest TEXT NOT NULL,
            file TEXT NOT NULL,
            superseded_by TEXT
        );
        CREATE INDEX class_bundles_by_learner ON class_bundles (class_id, learner, created_at);
        CREATE TABLE class_attempts (
            attempt_id INTEGER PRIMARY KEY REFERENCES attempts(id) ON DELETE CASCADE,
            class_id TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            bundle_id TEXT
        );
        CREATE INDEX class_attempts_by_class ON class_attempts (class_id, learner_id);
        CREATE TABLE class_lab_runs (
            run_id INTEGER PRIMARY KEY REFERENCES lab_runs(id) ON DELETE CASCADE,
            class_id TEXT NOT NULL REFERENCES classes(id) ON DELETE CASCADE,
            learner_id INTEGER NOT NULL REFERENCES learners(id),
            source TEXT NOT NULL CHECK (source IN ('bundle', 'graded')),
            bundle_id TEXT,
            lab_attempt_id INTEGER REFERENCES lab_attempts(id) ON DELETE CASCADE
        );
        CREATE INDEX class_lab_runs_by_class ON class_lab_runs (class_id, learner_id)
        """,
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4]
