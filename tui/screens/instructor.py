"""Classroom screens: the instructor's view of a class, and the served app's name prompt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Label,
    OptionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.option_list import Option

from grader.classroom.classfile import ClassFileError, check_learner_name
from grader.store.db import Store

NOT_NOW = "not-now"


class LearnerPrompt(ModalScreen[str]):
    """Ask who is at this browser (``certlab serve`` cannot pass per-user arguments), then
    offer the classes open now on this machine: joining one starts its exam."""

    DEFAULT_CSS = """
    LearnerPrompt #learner-error { color: $error; height: auto; }
    LearnerPrompt #open-classes { height: auto; max-height: 10; display: none; }
    LearnerPrompt #open-classes.shown { display: block; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.learner: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Who is learning here?", classes="title", id="prompt-title")
            yield Static(
                "Type your name: your answers and labs are kept under it on this server. "
                "Use the same name every time.",
                id="prompt-text",
            )
            yield Input(placeholder="your name, e.g. alice", id="learner-name")
            yield OptionList(id="open-classes")
            yield Static("", id="learner-error")

    def on_mount(self) -> None:
        self.query_one("#learner-name", Input).focus()

    def _error(self, text: str) -> None:
        self.query_one("#learner-error", Static).update(text)

    @on(Input.Submitted, "#learner-name")
    def _submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        try:
            check_learner_name(name)
        except ClassFileError as exc:
            self._error(str(exc))
            return
        self.learner = name
        classes = self._open_classes()
        if not classes:
            self.dismiss(name)
            return
        self._error("")
        self.query_one("#prompt-title", Label).update(f"Hello {name}: a class is open")
        self.query_one("#prompt-text", Static).update(
            "Join it to start its exam now (the clock starts when you join), or carry on."
        )
        self.query_one("#learner-name", Input).display = False
        options = self.query_one("#open-classes", OptionList)
        for record in classes:
            options.add_option(Option(f"Join {record.name} ({record.form_id})", id=record.id))
        options.add_option(Option("Not now", id=NOT_NOW))
        options.add_class("shown")
        options.highlighted = 0
        options.focus()

    def _open_classes(self) -> list[Any]:
        import time

        from grader.classroom.registry import list_classes

        store = getattr(self.app, "store", None)
        if store is None:
            return []
        now = time.time()
        return [c for c in list_classes(store) if c.opens_at <= now < c.closes_at]

    @on(OptionList.OptionSelected, "#open-classes")
    def _join(self, event: OptionList.OptionSelected) -> None:
        from grader.classroom.classfile import ClassWindowError
        from grader.classroom.join import join_class
        from grader.classroom.registry import get_class
        from grader.content import load_content
        from grader.exams.session import SessionError

        assert self.learner is not None
        if event.option.id in (None, NOT_NOW):
            self.dismiss(self.learner)
            return
        app: Any = self.app
        try:
            record = get_class(app.store, event.option.id)
            content = app.content or load_content(app.content_root)
            joined = join_class(app.store, content, record.class_file(self.learner), self.learner)
        except (ClassFileError, ClassWindowError, SessionError, ValueError) as exc:
            self._error(str(exc))
            return
        self.dismiss(self.learner)
        app.call_later(app.open_attempt, joined.session.attempt_id)


class InstructorScreen(Screen[None]):
    """Roster, domain heatmap, item analysis and question reports of one class."""

    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="instructor.refresh"),
        Binding("escape", "back", "Back", id="instructor.back"),
    ]
    DEFAULT_CSS = """
    InstructorScreen #class-title { height: auto; padding: 0 1; text-style: bold; }
    InstructorScreen DataTable { height: 1fr; }
    InstructorScreen #item-notes { height: auto; max-height: 8; padding: 0 1; color: $warning; }
    """

    def __init__(self, store: Store, class_ref: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.class_ref = class_ref
        self.data: Any = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="class-title")
        with TabbedContent(id="class-tabs"):
            with TabPane("Roster", id="tab-roster"):
                yield DataTable(id="roster", cursor_type="row")
            with TabPane("Heatmap", id="tab-heatmap"):
                yield DataTable(id="heatmap", cursor_type="row")
            with TabPane("Items", id="tab-items"):
                yield DataTable(id="items", cursor_type="row")
                yield Static("", id="item-notes")
            with TabPane("Reports", id="tab-reports"):
                yield DataTable(id="reports", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.action_refresh()

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_refresh(self) -> None:
        """Reread the class from the database."""
        from grader.classroom.exports import gather
        from grader.classroom.registry import ClassNotFound, get_class

        try:
            record = get_class(self.store, self.class_ref, role="instructor")
        except ClassNotFound as exc:
            self.query_one("#class-title", Static).update(str(exc))
            return
        self.data = data = gather(self.store, record)
        done = [r for r in data.roster if r.score is not None]
        self.query_one("#class-title", Static).update(
            f"{record.name} ({record.id}) · exam {record.form_id} · "
            f"{len(data.roster)} learners, {len(done)} submitted"
        )
        self._fill_roster(data)
        self._fill_heatmap(data)
        self._fill_items(data)
        self._fill_reports(data)

    @staticmethod
    def _reset(table: DataTable, *columns: str) -> None:
        table.clear(columns=True)
        table.add_columns(*columns)

    def _fill_roster(self, data: Any) -> None:
        table = self.query_one("#roster", DataTable)
        self._reset(table, "Learner", "Status", "Score", "Result", "Answered", "Labs", "From")
        for r in data.roster:
            table.add_row(
                r.learner,
                r.status,
                "" if r.score is None else f"{r.score:.1f}%",
                "" if r.passed is None else ("pass" if r.passed else "fail"),
                f"{r.answered}/{r.total}" if r.total else "",
                f"{r.labs_passed}/{len(r.labs)}" if r.labs else "",
                r.source or "",
                key=r.learner,
            )

    def _fill_heatmap(self, data: Any) -> None:
        hm = data.heatmap
        table = self.query_one("#heatmap", DataTable)
        self._reset(table, "Learner", *hm.domains)

        def cell(values: dict[str, tuple[int, int]], d: str) -> str:
            p = hm.percent(values.get(d))
            return "·" if p is None else f"{p:.0f}%"

        for name, values in [*hm.rows, ("(class)", hm.class_row)]:
            table.add_row(name, *[cell(values, d) for d in hm.domains], key=name)

    def _fill_items(self, data: Any) -> None:
        table = self.query_one("#items", DataTable)
        self._reset(table, "#", "Question", "Facility", "Discrim.", "U−L", "Options", "Flags")

        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.2f}"

        notes = []
        for s in data.items:
            table.add_row(
                str(s.position + 1),
                s.question_id,
                num(s.facility),
                num(s.discrimination),
                num(s.upper_lower),
                " ".join(f"{o.id}{'*' if o.key else ''} {o.share:.0%}" for o in s.options),
                ", ".join(s.flags),
                key=s.question_id,
            )
            notes += [f"{s.question_id}: {n}" for n in s.notes if "suspect_key" in s.flags]
        self.query_one("#item-notes", Static).update("\n".join(notes))

    def _fill_reports(self, data: Any) -> None:
        import time

        table = self.query_one("#reports", DataTable)
        self._reset(table, "When", "Learner", "Question", "Note")
        for r in data.reports:
            table.add_row(
                time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created_at)),
                r.learner,
                r.question_id,
                r.note,
            )


class InstructorApp(App[None]):
    """A small app showing only the instructor's view (``certlab class view``)."""

    TITLE = "certlab"
    SUB_TITLE = "instructor"

    def __init__(self, store: Store, class_ref: str | None = None) -> None:
        super().__init__()
        self.store = store
        self.class_ref = class_ref

    def on_mount(self) -> None:
        self.push_screen(InstructorScreen(self.store, self.class_ref))


def run(settings: Any, *, class_ref: str | None = None, db_path: Path | None = None) -> int:
    """Entry point for the ``instructor`` face (``certlab.faces``)."""
    from grader.store.db import open_store

    with open_store(db_path) as store:
        InstructorApp(store, class_ref).run()
    return 0
