"""History: the learner's attempts; enter opens one (resume or results)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from grader.exams.history import attempts

if TYPE_CHECKING:
    from tui.app import CertlabApp


class HistoryScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="history.back")]

    app: CertlabApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable(id="history", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "Started", "Exam", "Mode", "Score", "Result")
        store = self.app.store
        for a in attempts(store, self.app.settings.learner) if store else []:
            result = "open" if a.status == "open" else ("pass" if a.passed else "fail")
            table.add_row(
                str(a.id),
                time.strftime("%Y-%m-%d %H:%M", time.localtime(a.started_at)),
                a.title,
                a.mode,
                "" if a.score is None else f"{a.score:.1f}%",
                result,
                key=str(a.id),
            )

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.app.open_attempt(int(event.row_key.value))
