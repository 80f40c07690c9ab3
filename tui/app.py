"""The certlab app: modes for Home and History, the exam flow as pushed screens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding

from grader.content import Content, load_content
from grader.settings import Settings
from grader.store.db import Store, StoreError, open_store
from tui.messages import ContentLoaded


class CertlabApp(App[None]):
    """One app for learners and instructors; every decision is made by the engine."""

    TITLE = "certlab"
    SUB_TITLE = "MLOps certification lab"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding(
            "ctrl+q", "quit", "Quit", id="quit", tooltip="Leave certlab (exams keep their time)"
        ),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        content_root: Path | None = None,
        db_path: Path | None = None,
        attempt: int | None = None,
        ask_learner: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.ask_learner = ask_learner  # served to a browser: ask who is there
        self.content_root = content_root
        self.db_path = db_path
        self.start_attempt = attempt
        self.store: Store | None = None
        self.tracks: Content | None = None  # levels and forms, loaded at start
        self.content: Content | None = None  # the whole bank, loaded in a worker

    def on_mount(self) -> None:
        from tui.screens.home import HomeScreen

        try:
            self.store = open_store(self.db_path)
        except StoreError as exc:
            self.notify(str(exc), severity="error", timeout=30)
        self.tracks = load_content(self.content_root, questions=False, labs=False)
        self.push_screen(HomeScreen())
        if self.ask_learner:
            from tui.screens.instructor import LearnerPrompt

            self.push_screen(LearnerPrompt(), self._learner_chosen)
        self.load_bank()
        if self.start_attempt is not None:
            self.open_attempt(self.start_attempt)

    @work(thread=True, exclusive=True, group="content", exit_on_error=False)
    def load_bank(self) -> None:
        """Load and validate the whole bank off the UI thread."""
        content = load_content(self.content_root)
        self.call_from_thread(self._bank_loaded, content)

    def _bank_loaded(self, content: Content) -> None:
        self.content = content
        if content.errors:
            self.notify(
                f"{len(content.errors)} content problem(s): run 'certlab content validate'",
                severity="warning",
            )
        self.post_message(ContentLoaded(len(content.questions), len(content.errors)))
        if self.screen is not None:
            self.screen.post_message(ContentLoaded(len(content.questions), len(content.errors)))

    def _learner_chosen(self, name: str | None) -> None:
        if name:
            self.settings = self.settings.with_overrides(learner=name)
            self.sub_title = f"{self.SUB_TITLE} — {name}"

    def open_attempt(self, attempt_id: int) -> None:
        """Resume (or review, when submitted) an attempt."""
        from grader.exams.session import Session, SessionError
        from tui.screens.exam import ExamScreen
        from tui.screens.results import ResultsScreen

        if self.store is None:
            return
        try:
            session = Session.resume(self.store, attempt_id)
        except SessionError as exc:
            self.notify(str(exc), severity="error")
            return
        if session.submitted:
            if session.row.get("auto_submitted"):
                self.notify("Time ran out while you were away: the attempt was submitted.")
            self.push_screen(ResultsScreen(session))
        else:
            self.push_screen(ExamScreen(session))


def make_app(settings: Settings, **kwargs: Any) -> CertlabApp:
    """Build the app (used by the CLI and by tests alike)."""
    return CertlabApp(settings, **kwargs)


def run(settings: Settings, *, attempt: int | None = None) -> int:
    """Entry point for ``certlab`` (see the ``certlab.faces`` entry point)."""
    import os

    make_app(settings, attempt=attempt, ask_learner=os.environ.get("CERTLAB_SERVE") == "1").run()
    return 0
