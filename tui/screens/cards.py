"""Reviewing due cards: answer, read the explanation, then rate Again, Hard, Good or Easy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding

from grader.exams.session import Session
from grader.progress.cards import CardInfo, review
from tui.screens.exam import ExamScreen

if TYPE_CHECKING:
    from grader.store.db import Store


class CardReviewScreen(ExamScreen):
    """An untimed session over due cards; every rating goes to the FSRS scheduler."""

    BINDINGS = [
        Binding("a", "rate('again')", "Again", id="cards.again"),
        Binding("h", "rate('hard')", "Hard", id="cards.hard"),
        Binding("g", "rate('good')", "Good", id="cards.good"),
        Binding("e", "rate('easy')", "Easy", id="cards.easy"),
    ]

    def __init__(self, due: list[CardInfo]) -> None:
        self.card_ids = {c.question_id: c.id for c in due}
        self.rated: set[int] = set()
        self.due = due
        super().__init__(self._session())

    def _session(self) -> Session:
        app = self.app
        store: Store = app.store  # type: ignore[attr-defined]
        content = app.content  # type: ignore[attr-defined]
        level = self.due[0].level
        only = [
            c.question_id
            for c in self.due
            if c.level == level and c.question_id in content.questions
        ]
        return Session.start(
            store,
            content,
            app.settings.learner,
            level=level,  # type: ignore[attr-defined]
            count=len(only),
            mode="drill",
            only=only,
            title=f"{content.level(level).title} — reviews",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.notify("Answer, read why, then rate your recall: a Again · h Hard · g Good · e Easy.")

    def action_rate(self, rating: str) -> None:
        item = self.item
        if not item.answered:
            self.notify("Answer first (or press enter to reveal by rating Again).")
            return
        self._rate(rating)
        self.action_next()

    def _rate(self, rating: str) -> None:
        card_id = self.card_ids.get(self.item.presented.question_id)
        if card_id is None or self.item.position in self.rated:
            return
        review(self.app.store, card_id, rating)  # type: ignore[attr-defined]
        self.rated.add(self.item.position)

    def action_next(self) -> None:
        # moving on without a rating rates by the answer: wrong is Again, right is Good
        if self.item.answered:
            self._rate("good" if self.item.correct else "again")
        super().action_next()

    def action_submit(self) -> None:
        self.session.submit()
        self.notify(f"Reviewed {len(self.rated)} card(s).")
        self.app.pop_screen()
