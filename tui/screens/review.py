"""Review a submitted attempt: every question, the learner's answer and every explanation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown

from grader.exams.review import item_review_markdown
from grader.exams.session import Session
from tui.messages import JumpTo
from tui.widgets.grid import QuestionGrid

if TYPE_CHECKING:
    from tui.app import CertlabApp


class ReviewScreen(Screen[None]):
    """Step through the answers; ``w`` shows only the ones that were wrong."""

    BINDINGS = [
        Binding("right,n", "step(1)", "Next", id="review.next"),
        Binding("left,p", "step(-1)", "Prev", id="review.prev"),
        Binding("w", "wrong_only", "Wrong only", id="review.wrong"),
        Binding("ctrl+r", "report", "Report question", id="review.report"),
        Binding("escape", "app.pop_screen", "Back", id="review.back"),
    ]

    app: CertlabApp

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.position = 0
        self.wrong_only = False

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="review-body"):
            yield Markdown(id="review")
        yield QuestionGrid(id="grid")
        yield Footer()

    def on_mount(self) -> None:
        self.show(0)

    def _visible(self) -> list[int]:
        items = self.session.items
        return [i.position for i in items if not (self.wrong_only and i.correct)]

    def show(self, position: int) -> None:
        self.position = position
        entry = self.session.items[position]
        self.query_one("#review", Markdown).update(item_review_markdown(entry))
        self.query_one("#review-body").scroll_home(animate=False)
        states = [(i.answered, i.flagged, bool(i.correct)) for i in self.session.items]
        self.query_one(QuestionGrid).update_states(states, position)

    def action_step(self, delta: int) -> None:
        visible = self._visible()
        if not visible:
            return
        later = [p for p in visible if (p - self.position) * delta > 0]
        if later:
            self.show(min(later) if delta > 0 else max(later))

    def action_wrong_only(self) -> None:
        self.wrong_only = not self.wrong_only
        visible = self._visible()
        if not visible:
            self.notify("Every answer was right.")
            self.wrong_only = False
            return
        self.notify("Showing wrong answers only." if self.wrong_only else "Showing every answer.")
        if self.position not in visible:
            self.show(visible[0])

    def on_jump_to(self, message: JumpTo) -> None:
        self.show(message.position)

    def action_report(self) -> None:
        from tui.screens.dialogs import report_question_dialog

        item = self.session.items[self.position].presented
        report_question_dialog(self, item, self.session.attempt_id)
