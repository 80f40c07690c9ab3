"""Results: score, pass or fail, the domain breakdown as bars and time per question."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Label, ProgressBar, Static

from grader.exams.session import Session

if TYPE_CHECKING:
    from tui.app import CertlabApp


class ResultsScreen(Screen[None]):
    """What a submitted attempt scored, and where the marks were lost."""

    BINDINGS = [
        Binding("r", "review", "Review answers", id="results.review"),
        Binding("escape,h", "home", "Home", id="results.home"),
    ]

    app: CertlabApp

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.result = session.result()

    def compose(self) -> ComposeResult:
        r = self.result
        yield Header()
        with VerticalScroll(id="results"):
            verdict = "PASSED" if r.passed else "NOT PASSED"
            yield Static(
                f"{r.title}\n{verdict} — {r.score:.1f}% ({r.correct} of {r.total} right); "
                f"pass mark {r.pass_mark:g}%"
                + ("\nSubmitted automatically when time ran out." if r.auto_submitted else ""),
                id="verdict",
                classes="pass" if r.passed else "fail",
            )
            yield Label("By domain", classes="title")
            for d in r.domains:
                with Horizontal(classes="domain-row"):
                    yield Static(f"{d.domain} {d.correct}/{d.total}", classes="name")
                    bar = ProgressBar(total=100, show_eta=False, show_percentage=True)
                    bar.progress = d.percent
                    yield bar
            yield Label("Time per question", classes="title")
            yield Static(self._times())
            yield Static(r.note, classes="muted")
        yield Footer()

    def _times(self) -> str:
        r = self.result
        spent = [t.seconds for t in r.times]
        if not spent:
            return ""
        total = sum(spent)
        avg = total / len(spent)
        slowest = sorted(r.times, key=lambda t: -t.seconds)[:3]
        pace = f"; the exam's pace is {r.pace_seconds:.0f} s" if r.pace_seconds else ""
        lines = [f"Average {avg:.0f} s a question over {total / 60:.1f} min{pace}."]
        lines += [
            f"  Q{t.position + 1} ({t.domain}): {t.seconds:.0f} s {'✓' if t.correct else '✗'}"
            for t in slowest
        ]
        return "\n".join(lines)

    def action_review(self) -> None:
        from tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen(self.session))

    def action_home(self) -> None:
        from tui.screens.home import HomeScreen

        while len(self.app.screen_stack) > 1 and not isinstance(self.app.screen, HomeScreen):
            self.app.pop_screen()
