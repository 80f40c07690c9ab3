"""Labs: every lab grouped by level with its status and score; the lab screen to work one."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Markdown, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from grader.labs.model import Lab
from grader.labs.records import lab_status, next_hint, record_run
from grader.labs.runner import CheckResult, LabRun, run_checks
from grader.labs.workspace import LabError, reset, solve, start
from tui.messages import CheckProgress, ContentLoaded

if TYPE_CHECKING:
    from tui.app import CertlabApp

MARKS = {"passed": "✓", "failed": "✗", "not_gradable": "–", "skipped": "·", None: " "}


class LabsScreen(Screen[None]):
    """Pick a lab: enter starts it (keeping any work already there) and opens it."""

    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="labs.back")]

    app: CertlabApp

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.select = select

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="home"):
            yield OptionList(id="lab-list")
            yield Markdown(id="lab-info")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#lab-list").focus()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def on_content_loaded(self, message: ContentLoaded) -> None:
        self.refresh_view()

    def refresh_view(self) -> None:
        content, store = self.app.content, self.app.store
        options = self.query_one("#lab-list", OptionList)
        options.clear_options()
        if content is None or store is None:
            options.add_option(Option("Loading labs…", disabled=True))
            return
        learner = self.app.settings.learner
        for level in content.levels.values():
            labs = sorted(
                (lab for lab in content.labs.values() if lab.level == level.id),
                key=lambda lab: lab.id,
            )
            if not labs:
                continue
            options.add_option(Option(f"[b]{level.title}[/b]", disabled=True))
            for lab in labs:
                s = lab_status(store, lab, learner)
                score = f" {s.best:g}/{s.max_score:g}" if s.best is not None else ""
                needs = f" [{', '.join(lab.requires)}]" if lab.requires else ""
                options.add_option(Option(f"  {lab.title}{needs} — {s.state}{score}", id=lab.id))
        if self.select and self.select in {o.id for o in options.options}:
            options.highlighted = options.get_option_index(self.select)
        elif options.option_count > 1:
            options.highlighted = 1

    @on(OptionList.OptionHighlighted, "#lab-list")
    def _describe(self, event: OptionList.OptionHighlighted) -> None:
        content = self.app.content
        if content is None or event.option.id not in content.labs:
            return
        lab = content.labs[event.option.id]
        tasks = "\n".join(f"{i}. {t.title}" for i, t in enumerate(lab.tasks, 1))
        needs = ", ".join(lab.requires) or "nothing beyond Python"
        self.query_one("#lab-info", Markdown).update(
            f"## {lab.title}\n\n{lab.summary}\n\n**About {lab.minutes} minutes · needs {needs}**"
            f"\n\n{tasks}\n\n*Enter starts the lab and opens it.*"
        )

    @on(OptionList.OptionSelected, "#lab-list")
    def _open(self, event: OptionList.OptionSelected) -> None:
        content, store = self.app.content, self.app.store
        if content is None or store is None or event.option.id not in content.labs:
            return
        lab = content.labs[event.option.id]
        try:
            start(store, lab, self.app.settings.learner)
        except LabError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(LabScreen(lab))


class LabScreen(Screen[None]):
    """Instructions, each check's state, and Check/Hint/Reset. Checks run in a worker."""

    BINDINGS = [
        Binding("c", "check", "Check", id="lab.check"),
        Binding("h", "hint", "Hint", id="lab.hint"),
        Binding("ctrl+r", "reset", "Reset", id="lab.reset"),
        Binding("ctrl+s", "solve", "Solve (instructor)", id="lab.solve", show=False),
        Binding("escape", "escape", "Back / cancel", id="lab.escape"),
    ]

    app: CertlabApp

    def __init__(self, lab: Lab) -> None:
        super().__init__()
        self.lab = lab
        self.cancel = threading.Event()
        self.running = False
        self.hints: list[str] = []
        self.last_run: LabRun | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="lab-workspace", classes="muted")
        with Horizontal(id="lab-body"):
            with VerticalScroll(id="lab-text"):
                yield Markdown(id="instructions")
            yield DataTable(id="checks", cursor_type="row")
        yield ProgressBar(id="check-progress", show_eta=False)
        yield Static(id="check-summary")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#checks", DataTable)
        table.add_columns(" ", "Check", "Points")
        self.query_one("#check-progress").display = False
        self.render_status()

    def render_status(self) -> None:
        store = self.app.store
        if store is None:
            return
        status = lab_status(store, self.lab, self.app.settings.learner)
        self.query_one("#lab-workspace", Static).update(
            f" {self.lab.title} · workspace: {status.workspace or '-'}"
        )
        latest = {c["check_id"]: c for c in status.checks}
        table = self.query_one("#checks", DataTable)
        table.clear()
        for check in self.lab.checks:
            c = latest.get(check.id)
            points = f"{c['points']:g}/{check.points:g}" if c else f"-/{check.points:g}"
            table.add_row(MARKS[c["status"] if c else None], check.title, points, key=check.id)
        parts = []
        for task in self.lab.tasks:
            parts.append(f"## {task.title}\n\n{task.instructions.strip()}")
        if self.hints:
            parts.append("## Hints so far\n\n" + "\n\n".join(f"> {h}" for h in self.hints))
        self.query_one("#instructions", Markdown).update("\n\n".join(parts))
        summary = self.query_one("#check-summary", Static)
        if status.runs:
            state = "passed ✓" if status.passed else "not passed yet"
            summary.update(
                f" Latest {status.latest:g}/{status.max_score:g} · best "
                f"{status.best:g} · {state} · hints used {status.hints}"
            )
        else:
            summary.update(" Not checked yet: press c to grade your workspace.")

    @on(DataTable.RowHighlighted, "#checks")
    def _explain(self, event: DataTable.RowHighlighted) -> None:
        if self.last_run is None or event.row_key.value is None:
            return
        for r in self.last_run.results:
            if r.check_id == event.row_key.value and not r.passed:
                self.query_one("#check-summary", Static).update(f" {r.message}")

    # --- grading in a worker ------------------------------------------------------------

    def action_check(self) -> None:
        if self.running or self.app.store is None:
            return
        from grader.labs.workspace import require_started

        try:
            row = require_started(self.app.store, self.lab, self.app.settings.learner)
        except LabError as exc:
            self.notify(str(exc), severity="error")
            return
        self.running = True
        self.cancel.clear()
        bar = self.query_one("#check-progress", ProgressBar)
        bar.display = True
        bar.update(total=len(self.lab.checks), progress=0)
        self.query_one("#check-summary", Static).update(" Checking… (Escape cancels)")
        self.grade(Path(row["workspace"]), row["seed"], row["id"])

    @work(thread=True, exclusive=True, exit_on_error=False, group="grading")
    def grade(self, workspace: Path, seed: int, attempt_id: int) -> None:
        """Run the checks off the UI thread; results come back as messages."""

        def progress(done: int, total: int, result: CheckResult) -> None:
            self.post_message(CheckProgress(done, total, result))

        # capabilities default to the cluster that is up, if any
        run = run_checks(self.lab, workspace, seed, cancel=self.cancel, progress=progress)
        self.app.call_from_thread(self._graded, run, attempt_id)

    def on_check_progress(self, message: CheckProgress) -> None:
        self.query_one("#check-progress", ProgressBar).update(progress=message.done)
        table = self.query_one("#checks", DataTable)
        r = message.result
        table.update_cell(r.check_id, table.ordered_columns[0].key, MARKS[r.status])

    def _graded(self, run: LabRun, attempt_id: int) -> None:
        self.running = False
        self.query_one("#check-progress").display = False
        self.last_run = run
        if self.app.store is not None and not run.cancelled:
            record_run(self.app.store, attempt_id, run)
        self.render_status()
        if run.cancelled:
            self.notify("Check cancelled; nothing was recorded.")
        elif run.passed:
            self.notify(f"Every required check passes: {run.score:g}/{run.max_score:g}.")
        else:
            failing = next(r for r in run.results if r.required and not r.passed)
            self.notify(failing.message, severity="warning", timeout=10)

    def action_escape(self) -> None:
        if self.running:
            self.cancel.set()
        else:
            self.app.pop_screen()

    # --- hints, reset, solve ------------------------------------------------------------

    def action_hint(self) -> None:
        if self.app.store is None:
            return
        try:
            hint = next_hint(self.app.store, self.lab, self.app.settings.learner)
        except LabError as exc:
            self.notify(str(exc), severity="error")
            return
        text = f"({hint.task_id}, hint {hint.index + 1}/{hint.total}) {hint.text}"
        if text not in self.hints:
            self.hints.append(text)
        self.render_status()
        self.query_one("#lab-text").scroll_end(animate=False)

    def action_reset(self) -> None:
        from tui.screens.dialogs import ConfirmDialog

        def done(yes: bool | None) -> None:
            if yes and self.app.store is not None and not self.running:
                try:
                    reset(self.app.store, self.lab, self.app.settings.learner)
                except LabError as exc:
                    self.notify(str(exc), severity="error")
                    return
                self.notify("Workspace restored to the starter files.")
                self.render_status()

        self.app.push_screen(
            ConfirmDialog("Reset the workspace?", "Your changes in the workspace are lost."), done
        )

    def action_solve(self) -> None:
        if not self.app.settings.instructor:
            self.notify("Solve is for instructors (start certlab with --instructor).")
            return
        if self.app.store is None or self.running:
            return
        try:
            solve(self.app.store, self.lab, self.app.settings.learner)
        except LabError as exc:
            self.notify(str(exc), severity="error")
            return
        self.notify("Reference solution applied.")
        self.render_status()
