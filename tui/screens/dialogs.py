"""Modal dialogs; each returns its answer through ``dismiss``."""

from __future__ import annotations

from collections.abc import Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from grader.content.model import Domain, ExamForm
from grader.exams.presented import Presented


class StartDialog(ModalScreen[str | None]):
    """Confirm an exam: timed exam mode, or untimed practice with instant feedback."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, form: ExamForm) -> None:
        super().__init__()
        self.form = form

    def compose(self) -> ComposeResult:
        f = self.form
        with Vertical(classes="dialog"):
            yield Label(f.title, classes="title")
            yield Static(
                f"{f.questions} questions · {f.minutes} minutes · pass mark {f.pass_mark:g}%\n\n"
                "Exam mode is timed and shows results at the end; the clock keeps running if you "
                "leave, and certlab submits at zero. Practice is untimed and explains every answer "
                "as you go."
            )
            with Horizontal(classes="buttons"):
                yield Button("Practice", id="practice")
                yield Button("Start exam", id="exam", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#exam", Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)


class DomainDialog(ModalScreen[str | None]):
    """Pick one domain to drill."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, domains: Sequence[Domain]) -> None:
        super().__init__()
        self.domains = domains

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Drill which domain?", classes="title")
            yield OptionList(*[Option(d.title, id=d.id) for d in self.domains], id="domains")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class SubmitDialog(ModalScreen[bool]):
    """Count what is unanswered and flagged before submitting."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Back")]

    def __init__(self, unanswered: int, flagged: int, total: int) -> None:
        super().__init__()
        self.unanswered, self.flagged, self.total = unanswered, flagged, total

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="submit-dialog"):
            yield Label("Submit the exam?", classes="title")
            lines = [f"{self.total - self.unanswered} of {self.total} answered."]
            if self.unanswered:
                lines.append(f"{self.unanswered} unanswered — they score zero.")
            if self.flagged:
                lines.append(f"{self.flagged} flagged for review.")
            lines.append("You cannot change answers after submitting.")
            yield Static("\n".join(lines), id="submit-summary")
            with Horizontal(classes="buttons"):
                yield Button("Back to exam", id="back")
                yield Button("Submit", id="submit", variant="error")

    def on_mount(self) -> None:
        self.query_one("#back", Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "submit")


class GotoDialog(ModalScreen[int | None]):
    """Type a question number to jump to."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, total: int) -> None:
        super().__init__()
        self.total = total

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(f"Go to question (1–{self.total})", classes="title")
            yield Input(placeholder="number", type="integer", id="goto")

    @on(Input.Submitted)
    def _chosen(self, event: Input.Submitted) -> None:
        try:
            n = int(event.value)
        except ValueError:
            return
        if 1 <= n <= self.total:
            self.dismiss(n - 1)
        else:
            self.notify(f"Questions run from 1 to {self.total}.", severity="warning")


class ReportDialog(ModalScreen[str | None]):
    """Report a question: the learner's note goes to the instructor's report list."""

    BINDINGS = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Report this question", classes="title")
            yield Static("What is wrong? (a wrong key, an outdated fact, an unclear stem …)")
            yield Input(placeholder="your note", id="note")

    @on(Input.Submitted)
    def _chosen(self, event: Input.Submitted) -> None:
        note = event.value.strip()
        if note:
            self.dismiss(note)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Cancel")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="title")
            yield Static(self.body)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="no")
                yield Button("Yes", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


def report_question_dialog(screen: Screen, item: Presented, attempt_id: int | None) -> None:
    """Ask for a note on ``item`` and record it as a question report."""
    from grader.exams.reports import report_question

    app = screen.app

    def done(note: str | None) -> None:
        if note and app.store is not None:  # type: ignore[attr-defined]
            report_question(
                app.store,
                app.settings.learner,
                item.question_id,  # type: ignore[attr-defined]
                item.content_hash,
                note,
                attempt_id,
            )
            screen.notify("Thanks — your report is recorded.")

    app.push_screen(ReportDialog(), done)
