"""Timed exam sessions kept in SQLite.

An attempt has an absolute deadline. Every answer, flag and move is written as it happens, so
a crash or a closed terminal loses nothing: reopening resumes with the time really left, and an
attempt reopened past its deadline is submitted at once. At zero the attempt submits itself.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from grader.content.loader import Content
from grader.content.model import ExamForm
from grader.exams import forms
from grader.exams.presented import Presented, present
from grader.exams.results import Result, compute_result
from grader.exams.scoring import is_correct, normalise
from grader.store.db import Store

Mode = Literal["exam", "practice", "drill"]
Clock = Callable[[], float]

#: how many of a learner's latest attempts at a level a new draw tries to avoid
RECENT_ATTEMPTS = 3


class SessionError(Exception):
    """The attempt cannot do what was asked (submitted, unknown, wrong position)."""


@dataclass
class Item:
    """One question of an attempt and the learner's state on it."""

    position: int
    presented: Presented
    response: Any = None
    correct: bool | None = None
    flagged: bool = False
    time_spent: float = 0.0

    @property
    def answered(self) -> bool:
        return self.response is not None


@dataclass(frozen=True)
class Feedback:
    """Immediate feedback for practice and drill: right or not, and why."""

    correct: bool
    item: Item


class Session:
    """One attempt: its items, its clock and every write to the store."""

    def __init__(self, store: Store, attempt_id: int, clock: Clock = time.time) -> None:
        self.store = store
        self.attempt_id = attempt_id
        self.clock = clock
        row = store.one("SELECT * FROM attempts WHERE id = ?", attempt_id)
        if row is None:
            raise SessionError(f"no attempt {attempt_id}")
        self._row = dict(row)
        self.items = [
            Item(
                position=r["position"],
                presented=Presented.from_json(json.loads(r["presented"])),
                response=json.loads(r["response"]) if r["response"] is not None else None,
                correct=None if r["correct"] is None else bool(r["correct"]),
                flagged=bool(r["flagged"]),
                time_spent=r["time_spent"],
            )
            for r in store.all(
                "SELECT * FROM attempt_items WHERE attempt_id = ? ORDER BY position", attempt_id
            )
        ]

    # --- creating and reopening ---------------------------------------------------------

    @classmethod
    def start(
        cls,
        store: Store,
        content: Content,
        learner: str,
        *,
        form: ExamForm | None = None,
        level: str | None = None,
        mode: Mode = "exam",
        count: int | None = None,
        domain: str | None = None,
        only: list[str] | None = None,
        seed: int | None = None,
        minutes: int | None = None,
        title: str | None = None,
        clock: Clock = time.time,
        avoid_recent: bool = True,
        not_after: float | None = None,
    ) -> Session:
        """Draw a form and create the attempt.

        ``form`` gives level, count, minutes and pass mark; without it, ``level`` and ``count``
        describe a practice or drill set (untimed unless ``minutes``). ``seed`` fixes the form
        (a classroom shares one); by default it is random. ``avoid_recent=False`` keeps the
        learner's recent questions from changing the draw (a class form must be the same for
        everybody); ``not_after`` caps the deadline (a class's closing time).
        """
        if form is not None:
            level = form.level
            count = count or form.questions
            minutes = form.minutes if minutes is None else minutes
            pass_mark = form.pass_mark
            form_id, title = form.id, title or form.title
        else:
            if level is None or count is None:
                raise SessionError("a session needs a form, or a level and a count")
            pass_mark = 70.0
            form_id = f"{mode}:{level}" + (f":{domain}" if domain else "")
            title = title or f"{content.level(level).title} — {mode}"
        seed = secrets.randbelow(2**31) if seed is None else seed
        learner_id = store.learner_id(learner)
        avoid = (
            recent_question_ids(store, learner_id, level)
            if only is None and avoid_recent
            else set()
        )
        drawn = forms.draw(
            content,
            level,
            count,
            seed,
            domain=domain,
            avoid=avoid,
            only=only,
            prefer_case_studies=bool(form and form.prefer_case_studies),
        )
        if not drawn:
            raise SessionError("no questions match: nothing to sit")
        presented = [present(q, seed) for q in drawn]
        now = clock()
        deadline = now + minutes * 60 if minutes else None
        if not_after is not None:
            deadline = not_after if deadline is None else min(deadline, not_after)
        with store.conn as conn:
            cur = conn.execute(
                """INSERT INTO attempts (learner_id, form_id, level, mode, title, seed, domain,
                   pass_mark, minutes, started_at, deadline_at, entered_at, last_activity_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    learner_id,
                    form_id,
                    level,
                    mode,
                    title,
                    seed,
                    domain,
                    pass_mark,
                    minutes,
                    now,
                    deadline,
                    now,
                    now,
                ),
            )
            attempt_id = int(cur.lastrowid or 0)
            conn.executemany(
                """INSERT INTO attempt_items (attempt_id, position, question_id, domain, kind,
                   content_hash, option_order, presented) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        attempt_id,
                        i,
                        p.question_id,
                        p.domain,
                        p.kind,
                        p.content_hash,
                        json.dumps(p.option_order),
                        json.dumps(p.to_json()),
                    )
                    for i, p in enumerate(presented)
                ],
            )
            _event(conn, attempt_id, now, "start", None, {"seed": seed, "items": len(drawn)})
        return cls(store, attempt_id, clock)

    @classmethod
    def resume(cls, store: Store, attempt_id: int, clock: Clock = time.time) -> Session:
        """Reopen an attempt after a crash or a closed terminal.

        The time since the last recorded activity is not charged to any question; a timed
        attempt past its deadline is submitted at once.
        """
        session = cls(store, attempt_id, clock)
        if session.submitted:
            return session
        now = clock()
        if session.expired:
            session.submit(auto=True)
            return session
        row = session._row
        lost = max(0.0, row["last_activity_at"] - row["entered_at"])
        with store.conn as conn:
            conn.execute(
                "UPDATE attempt_items SET time_spent = time_spent + ? "
                "WHERE attempt_id = ? AND position = ?",
                (lost, attempt_id, row["current_index"]),
            )
            conn.execute(
                "UPDATE attempts SET entered_at = ?, last_activity_at = ? WHERE id = ?",
                (now, now, attempt_id),
            )
            _event(conn, attempt_id, now, "resume", row["current_index"], None)
        session._reload()
        return session

    # --- state --------------------------------------------------------------------------

    @property
    def mode(self) -> Mode:
        return self._row["mode"]

    @property
    def title(self) -> str:
        return self._row["title"]

    @property
    def level(self) -> str:
        return self._row["level"]

    @property
    def seed(self) -> int:
        return self._row["seed"]

    @property
    def current(self) -> int:
        return self._row["current_index"]

    @property
    def submitted(self) -> bool:
        return self._row["status"] == "submitted"

    @property
    def deadline(self) -> float | None:
        return self._row["deadline_at"]

    @property
    def immediate_feedback(self) -> bool:
        """Practice and drill show feedback as soon as an answer is given; exams defer it."""
        return self.mode != "exam"

    def remaining(self) -> float | None:
        """Seconds left before the deadline (never negative), or None when untimed."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - self.clock())

    @property
    def expired(self) -> bool:
        return self.deadline is not None and self.clock() >= self.deadline

    def counts(self) -> dict[str, int]:
        """How many items are answered, unanswered and flagged."""
        answered = sum(i.answered for i in self.items)
        return {
            "total": len(self.items),
            "answered": answered,
            "unanswered": len(self.items) - answered,
            "flagged": sum(i.flagged for i in self.items),
        }

    # --- actions (each one written at once) ---------------------------------------------

    def _check_open(self, position: int | None = None) -> None:
        if self.submitted:
            raise SessionError("this attempt is already submitted")
        if position is not None and not 0 <= position < len(self.items):
            raise SessionError(f"no question at position {position + 1}")

    def answer(self, position: int, response: Any) -> Feedback | None:
        """Record an answer (None clears it). Returns feedback in practice and drill.

        Raises InvalidResponse for a response of the wrong shape, SessionError when the attempt
        is closed; an expired attempt is submitted instead and the answer refused.
        """
        self._check_open(position)
        if self._submit_if_expired():
            raise SessionError("time is up: the attempt was submitted")
        item = self.items[position]
        if response is None:
            value, correct = None, None
        else:
            value = normalise(item.presented, response)
            correct = is_correct(item.presented, value)
        now = self.clock()
        with self.store.conn as conn:
            conn.execute(
                "UPDATE attempt_items SET response = ?, correct = ?, answered_at = ? "
                "WHERE attempt_id = ? AND position = ?",
                (
                    None if value is None else json.dumps(value),
                    None if correct is None else int(correct),
                    now if value is not None else None,
                    self.attempt_id,
                    position,
                ),
            )
            self._touch(conn, now)
            _event(conn, self.attempt_id, now, "answer", position, {"response": value})
        item.response, item.correct = value, correct
        if self.immediate_feedback and value is not None:
            return Feedback(bool(correct), item)
        return None

    def flag(self, position: int, flagged: bool | None = None) -> bool:
        """Set (or toggle, when ``flagged`` is None) the review flag; returns the new state."""
        self._check_open(position)
        if self._submit_if_expired():
            raise SessionError("time is up: the attempt was submitted")
        item = self.items[position]
        new = (not item.flagged) if flagged is None else flagged
        now = self.clock()
        with self.store.conn as conn:
            conn.execute(
                "UPDATE attempt_items SET flagged = ? WHERE attempt_id = ? AND position = ?",
                (int(new), self.attempt_id, position),
            )
            self._touch(conn, now)
            _event(conn, self.attempt_id, now, "flag", position, {"flagged": new})
        item.flagged = new
        return new

    def move(self, position: int) -> None:
        """Go to another question, charging the time spent to the one being left."""
        self._check_open(position)
        if self._submit_if_expired():
            raise SessionError("time is up: the attempt was submitted")
        if position == self.current:
            return
        now = self.clock()
        spent = max(0.0, now - self._row["entered_at"])
        with self.store.conn as conn:
            conn.execute(
                "UPDATE attempt_items SET time_spent = time_spent + ? "
                "WHERE attempt_id = ? AND position = ?",
                (spent, self.attempt_id, self.current),
            )
            conn.execute(
                "UPDATE attempts SET current_index = ?, entered_at = ?, last_activity_at = ? "
                "WHERE id = ?",
                (position, now, now, self.attempt_id),
            )
            _event(conn, self.attempt_id, now, "move", position, {"from": self.current})
        self.items[self.current].time_spent += spent
        self._row.update(current_index=position, entered_at=now, last_activity_at=now)

    def tick(self) -> bool:
        """Call periodically: submits the attempt when its time is up. True if it did."""
        return self._submit_if_expired()

    def submit(self, *, auto: bool = False) -> Result:
        """Score and close the attempt (idempotent: a submitted attempt returns its result)."""
        if self.submitted:
            return self.result()
        now = self.clock()
        # The clock stops at the deadline: an auto-submission charges no time past it.
        end = min(now, self.deadline) if self.deadline is not None else now
        spent = max(0.0, end - self._row["entered_at"])
        result = compute_result(self, extra_time={self.current: spent})
        with self.store.conn as conn:
            row = conn.execute(
                "SELECT status FROM attempts WHERE id = ?", (self.attempt_id,)
            ).fetchone()
            first = row["status"] != "submitted"  # another process may have got there first
            if first:
                conn.execute(
                    "UPDATE attempt_items SET time_spent = time_spent + ? "
                    "WHERE attempt_id = ? AND position = ?",
                    (spent, self.attempt_id, self.current),
                )
                conn.execute(
                    "UPDATE attempts SET status = 'submitted', submitted_at = ?, "
                    "auto_submitted = ?, score = ?, passed = ?, last_activity_at = ? "
                    "WHERE id = ?",
                    (end, int(auto), result.score, int(result.passed), now, self.attempt_id),
                )
                _event(conn, self.attempt_id, now, "submit", None, {"auto": auto})
        if first:
            from grader.progress.cards import sync_attempt

            sync_attempt(self.store, self.attempt_id, at=end)
        self._reload()
        return self.result()

    def result(self) -> Result:
        """The result of a submitted attempt (or the provisional one of an open attempt)."""
        return compute_result(self)

    # --- internals ----------------------------------------------------------------------

    def _submit_if_expired(self) -> bool:
        if not self.submitted and self.expired:
            self.submit(auto=True)
            return True
        return False

    def _touch(self, conn: Any, now: float) -> None:
        conn.execute(
            "UPDATE attempts SET last_activity_at = ? WHERE id = ?", (now, self.attempt_id)
        )
        self._row["last_activity_at"] = now

    def _reload(self) -> None:
        fresh = Session(self.store, self.attempt_id, self.clock)
        self._row, self.items = fresh._row, fresh.items

    @property
    def row(self) -> dict[str, Any]:
        """The attempt's database row (read-only use)."""
        return dict(self._row)


def _event(
    conn: Any,
    attempt_id: int,
    at: float,
    kind: str,
    position: int | None,
    data: dict[str, Any] | None,
) -> None:
    conn.execute(
        "INSERT INTO attempt_events (attempt_id, at, kind, position, data) VALUES (?, ?, ?, ?, ?)",
        (attempt_id, at, kind, position, json.dumps(data) if data is not None else None),
    )


def recent_question_ids(
    store: Store, learner_id: int, level: str, attempts: int = RECENT_ATTEMPTS
) -> set[str]:
    """Question ids from the learner's latest attempts at ``level``."""
    rows = store.all(
        """SELECT question_id FROM attempt_items WHERE attempt_id IN (
               SELECT id FROM attempts WHERE learner_id = ? AND level = ?
               ORDER BY started_at DESC LIMIT ?)""",
        learner_id,
        level,
        attempts,
    )
    return {r["question_id"] for r in rows}


def missed_question_ids(store: Store, learner: str, level: str | None = None) -> list[str]:
    """Questions whose latest answer by ``learner`` was wrong or left blank, newest first."""
    rows = store.all(
        """SELECT i.question_id, i.correct, a.started_at FROM attempt_items i
           JOIN attempts a ON a.id = i.attempt_id
           JOIN learners l ON l.id = a.learner_id
           WHERE l.name = ? AND (? IS NULL OR a.level = ?)
             AND (a.status = 'submitted' OR i.response IS NOT NULL)
           ORDER BY a.started_at DESC, i.position""",
        learner,
        level,
        level,
    )
    latest: dict[str, bool] = {}
    for r in rows:
        latest.setdefault(r["question_id"], bool(r["correct"]))
    return [qid for qid, ok in latest.items() if not ok]


def open_attempt_ids(store: Store, learner: str) -> list[int]:
    """The learner's attempts that are still open, newest first."""
    rows = store.all(
        """SELECT a.id FROM attempts a JOIN learners l ON l.id = a.learner_id
           WHERE l.name = ? AND a.status = 'open' ORDER BY a.started_at DESC""",
        learner,
    )
    return [r["id"] for r in rows]
