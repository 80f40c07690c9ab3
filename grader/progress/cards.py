"""Spaced repetition (FSRS) for missed and flagged questions.

Every question a learner misses or flags becomes a card of its own. Reviews rate it Again,
Hard, Good or Easy; FSRS schedules the next one. A question missed again and again (eight
lapses, Anki's rule) is a leech: drilling it will not help, reading about it will.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from grader.store.db import Store

LEECH_LAPSES = 8
RATINGS = {"again": 1, "hard": 2, "good": 3, "easy": 4}


def _scheduler() -> Any:
    from fsrs import Scheduler

    return Scheduler(desired_retention=0.9)


def _now(clock: float | None = None) -> datetime:
    return datetime.fromtimestamp(clock if clock is not None else time.time(), UTC)


@dataclass(frozen=True)
class CardInfo:
    id: int
    question_id: str
    level: str
    domain: str
    due: float
    lapses: int
    reviews: int
    reason: str

    @property
    def leech(self) -> bool:
        return self.lapses >= LEECH_LAPSES

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "leech": self.leech}


def _review(
    store: Store, card_id: int, rating: int, source: str, at: float, attempt_id: int | None = None
) -> None:
    """Apply one rating to a stored card (inside the caller's transaction)."""
    from fsrs import Card, Rating

    row = store.conn.execute("SELECT card FROM cards WHERE id = ?", (card_id,)).fetchone()
    card = Card.from_dict(json.loads(row["card"]))
    card, _ = _scheduler().review_card(card, Rating(rating), review_datetime=_now(at))
    store.conn.execute(
        "UPDATE cards SET card = ?, due = ?, reviews = reviews + 1, "
        "lapses = lapses + ? WHERE id = ?",
        (json.dumps(card.to_dict()), card.due.timestamp(), int(rating == 1), card_id),
    )
    store.conn.execute(
        "INSERT INTO card_reviews (card_id, at, rating, source, attempt_id) VALUES (?, ?, ?, ?, ?)",
        (card_id, at, rating, source, attempt_id),
    )


def sync_attempt(store: Store, attempt_id: int, at: float | None = None) -> int:
    """Turn a submitted attempt's missed and flagged items into cards; returns cards touched.

    A new miss or flag makes a new card, due now. In a full exam, a question that already has
    a card counts as a review: missed again is Again (a lapse), answered right is Good.
    Practice, drills and review sessions leave existing cards alone: there the learner rates
    their own recall.
    """
    from fsrs import Card

    at = time.time() if at is None else at
    attempt = store.one("SELECT learner_id, level, mode FROM attempts WHERE id = ?", attempt_id)
    if attempt is None:
        return 0
    items = store.all(
        "SELECT question_id, domain, correct, flagged FROM attempt_items WHERE attempt_id = ?",
        attempt_id,
    )
    touched = 0
    with store.conn as conn:
        for item in items:
            existing = conn.execute(
                "SELECT id FROM cards WHERE learner_id = ? AND question_id = ?",
                (attempt["learner_id"], item["question_id"]),
            ).fetchone()
            missed = not item["correct"]
            if existing is not None:
                if attempt["mode"] == "exam":
                    _review(store, existing["id"], 1 if missed else 3, "exam", at, attempt_id)
                    touched += 1
            elif missed or item["flagged"]:
                card = Card(due=_now(at))
                conn.execute(
                    "INSERT INTO cards (learner_id, question_id, level, domain, card, due, "
                    "created_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        attempt["learner_id"],
                        item["question_id"],
                        attempt["level"],
                        item["domain"],
                        json.dumps(card.to_dict()),
                        at,
                        at,
                        "missed" if missed else "flagged",
                    ),
                )
                touched += 1
    return touched


def review(store: Store, card_id: int, rating: str | int, at: float | None = None) -> CardInfo:
    """Record a review session's rating of a card (again, hard, good, easy or 1–4)."""
    value = RATINGS.get(rating, rating) if isinstance(rating, str) else rating
    if value not in (1, 2, 3, 4):
        raise ValueError(f"rating must be one of {', '.join(RATINGS)}")
    with store.conn:
        _review(store, card_id, int(value), "review", time.time() if at is None else at)
    return card(store, card_id)


def _info(row: Any) -> CardInfo:
    return CardInfo(
        row["id"],
        row["question_id"],
        row["level"],
        row["domain"],
        row["due"],
        row["lapses"],
        row["reviews"],
        row["reason"],
    )


def card(store: Store, card_id: int) -> CardInfo:
    """One card."""
    return _info(store.one("SELECT * FROM cards WHERE id = ?", card_id))


def cards(
    store: Store,
    learner: str,
    *,
    due_only: bool = False,
    level: str | None = None,
    at: float | None = None,
) -> list[CardInfo]:
    """A learner's cards, soonest due first."""
    at = time.time() if at is None else at
    rows = store.all(
        """SELECT c.* FROM cards c JOIN learners l ON l.id = c.learner_id
           WHERE l.name = ? AND (? IS NULL OR c.level = ?) AND (? = 0 OR c.due <= ?)
           ORDER BY c.due, c.id""",
        learner,
        level,
        level,
        int(due_only),
        at,
    )
    return [_info(r) for r in rows]
