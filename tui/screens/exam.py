"""The exam screen: one question at a time, keyboard-driven, every action saved at once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Input, Markdown, OptionList, Static
from textual.widgets.option_list import Option

from grader.exams.review import explanation_markdown, question_markdown
from grader.exams.scoring import InvalidResponse
from grader.exams.session import Item, Session, SessionError
from tui.messages import JumpTo
from tui.widgets.grid import QuestionGrid

if TYPE_CHECKING:
    from tui.app import CertlabApp


class AnswerInput(Input):
    """The numeric answer box: accepts a number; the exam's letter keys still work in it."""

    SHORTCUTS = {"f": "flag", "g": "goto", "s": "submit"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(restrict=r"[-+0-9.eE]*", **kwargs)

    async def _on_key(self, event: events.Key) -> None:
        # Textual gives printable keys to a focused input before any binding; hand these on.
        action = self.SHORTCUTS.get(event.character or "")
        if action is not None:
            event.prevent_default()
            event.stop()
            await self.screen.run_action(action)
            return
        await super()._on_key(event)


def format_clock(seconds: float | None) -> str:
    """``1:05:09`` / ``4:09`` for a countdown; ``untimed`` for None."""
    if seconds is None:
        return "untimed"
    s = int(seconds + 0.999)  # never show 0:00 while time remains
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class ExamScreen(Screen[None]):
    """Numbers choose, space toggles the highlighted option, enter moves on."""

    BINDINGS = [
        *[Binding(str(n), f"choose({n})", show=False) for n in range(1, 10)],
        Binding("space", "toggle_highlighted", "Select", id="exam.select", show=False),
        Binding("enter", "enter", "Next", id="exam.next", priority=True),
        Binding("right,pagedown", "next", "Next", id="exam.right", show=False),
        Binding("left,pageup", "previous", "Prev", id="exam.prev"),
        Binding("backspace", "undo", "Undo", id="exam.undo", show=False),
        Binding("f", "flag", "Flag", id="exam.flag", tooltip="Flag for review"),
        Binding("g", "goto", "Go to", id="exam.goto"),
        Binding("s", "submit", "Submit", id="exam.submit"),
        Binding("ctrl+r", "report", "Report", id="exam.report", show=False),
        Binding("escape", "leave", "Home", id="exam.leave", tooltip="The clock keeps running"),
    ]

    app: CertlabApp

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.order_pick: list[str] = []
        self.feedback_shown = False

    # --- layout -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="topbar"):
            yield Static(self.session.title, id="exam-title")
            yield Static(id="progress")
            yield Static(id="clock")
        with VerticalScroll(id="question-pane"):
            yield Static(id="qhead")
            yield Markdown(id="question")
            yield OptionList(id="choices")
            yield Static(id="order-line")
            yield AnswerInput(placeholder="your answer (a number)", id="numeric")
            yield Markdown(id="feedback")
        yield QuestionGrid(id="grid")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.session.current)
        self.update_clock()
        self.set_interval(0.5, self.update_clock)

    # --- state --------------------------------------------------------------------------

    @property
    def item(self) -> Item:
        return self.session.items[self.session.current]

    def show(self, position: int) -> None:
        """Move to ``position`` (saved) and redraw the question."""
        try:
            self.session.move(position)
        except SessionError as exc:
            self.notify(str(exc), severity="error")
            if self.session.submitted:
                self.finish()
            return
        self.order_pick = []
        self.feedback_shown = False
        item = self.item
        p = item.presented
        self.render_head()
        self.query_one("#question", Markdown).update(question_markdown(p))
        numeric = self.query_one("#numeric", Input)
        choices = self.query_one("#choices", OptionList)
        # inline display (not a CSS class) so focus can move in this same call
        numeric.display = p.kind == "numeric"
        choices.display = p.kind != "numeric"
        if p.kind == "numeric":
            numeric.value = "" if item.response is None else f"{item.response:g}"
            numeric.focus()
        else:
            choices.focus()
        self.redraw_choices(keep_highlight=False)
        if self.session.immediate_feedback and item.answered and self._complete(item):
            self.show_feedback()
        else:
            self.hide_feedback()
        self.query_one("#question-pane").scroll_home(animate=False)
        self.refresh_status()

    def render_head(self) -> None:
        """The "Question N of M" line, with the flag."""
        flag = "  ⚑ flagged" if self.item.flagged else ""
        self.query_one("#qhead", Static).update(
            f"Question {self.session.current + 1} of {len(self.session.items)}{flag}"
        )

    def _complete(self, item: Item) -> bool:
        p = item.presented
        if p.kind == "multiple":
            return len(item.response or []) == p.choose
        return item.answered

    def redraw_choices(self, *, keep_highlight: bool = True) -> None:
        p = self.item.presented
        if p.kind == "numeric":
            self.query_one("#order-line", Static).update("")
            return
        choices = self.query_one("#choices", OptionList)
        highlight = choices.highlighted if keep_highlight else 0
        response = self.item.response
        picked = self.order_pick or (response if p.kind == "ordering" and response else [])
        reveal = self.feedback_shown
        options = []
        for n, c in enumerate(p.choices, 1):
            if p.kind == "single":
                mark = "(•)" if response == c.id else "( )"
            elif p.kind == "multiple":
                mark = "[x]" if response and c.id in response else "[ ]"
            else:
                mark = f"[{picked.index(c.id) + 1}]" if c.id in picked else "[ ]"
            line = Text(f"{n}. {mark} ")
            line.append(c.text)
            if reveal and p.kind != "ordering":
                line.append("  ✓" if c.correct else "", style="bold green")
            options.append(Option(line))
        choices.clear_options()
        choices.add_options(options)
        if options:
            choices.highlighted = min(highlight or 0, len(options) - 1)
        order_line = self.query_one("#order-line", Static)
        if p.kind == "ordering":
            labels = {cid: str(i + 1) for i, cid in enumerate(p.option_order)}
            seq = " → ".join(labels[i] for i in picked) or "—"
            order_line.update(f"Your order: {seq}   (numbers add, backspace removes)")
        elif p.kind == "multiple":
            chosen = len(response or [])
            order_line.update(f"Chosen {chosen} of {p.choose}")
        else:
            order_line.update("")

    def refresh_status(self) -> None:
        counts = self.session.counts()
        self.query_one("#progress", Static).update(
            f"Q {self.session.current + 1}/{counts['total']} · {counts['answered']} answered"
            + (f" · {counts['flagged']} ⚑" if counts["flagged"] else "")
        )
        reveal = self.session.immediate_feedback
        states = [
            (i.answered, i.flagged, i.correct if reveal and i.answered else None)
            for i in self.session.items
        ]
        self.query_one(QuestionGrid).update_states(states, self.session.current)

    def update_clock(self) -> None:
        """Redraw the countdown; at zero the engine submits and the results appear."""
        if self.session.submitted:
            return
        if self.session.tick():
            self.notify("Time is up: your exam was submitted.", severity="warning", timeout=10)
            self.finish()
            return
        remaining = self.session.remaining()
        clock = self.query_one("#clock", Static)
        clock.update(f"⏱ {format_clock(remaining)}")
        clock.set_class(remaining is not None and remaining < 300, "low")

    # --- answering ----------------------------------------------------------------------

    def save(self, response: Any) -> None:
        """Send a response to the engine; show feedback in practice."""
        try:
            feedback = self.session.answer(self.session.current, response)
        except InvalidResponse as exc:
            self.notify(str(exc), severity="warning")
            return
        except SessionError as exc:
            self.notify(str(exc), severity="error")
            if self.session.submitted:
                self.finish()
            return
        if feedback is not None and self._complete(self.item):
            self.show_feedback()
        else:
            self.hide_feedback()
        self.redraw_choices()
        self.refresh_status()

    def pick(self, index: int) -> None:
        p = self.item.presented
        if p.kind == "numeric" or not 0 <= index < len(p.choices):
            return
        cid = p.choices[index].id
        if p.kind == "single":
            self.save(cid)
        elif p.kind == "multiple":
            chosen = list(self.item.response or [])
            chosen = [c for c in chosen if c != cid] if cid in chosen else [*chosen, cid]
            self.save(chosen or None)
        else:  # ordering: numbers build the sequence; a full sequence is saved
            if cid in self.order_pick:
                return
            self.order_pick.append(cid)
            if len(self.order_pick) == len(p.choices):
                picked, self.order_pick = self.order_pick, []
                self.save(picked)
            else:
                self.redraw_choices()

    def action_choose(self, n: int) -> None:
        if self.item.presented.kind == "numeric":
            # a digit typed before the answer box took focus still belongs in it
            numeric = self.query_one("#numeric", Input)
            numeric.insert_text_at_cursor(str(n))
            numeric.focus()
            return
        self.query_one("#choices", OptionList).highlighted = n - 1
        self.pick(n - 1)

    def action_toggle_highlighted(self) -> None:
        highlighted = self.query_one("#choices", OptionList).highlighted
        if highlighted is not None:
            self.pick(highlighted)

    @on(OptionList.OptionSelected, "#choices")
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        self.pick(event.option_index)

    def action_undo(self) -> None:
        p = self.item.presented
        if p.kind == "ordering" and self.order_pick:
            self.order_pick.pop()
            self.redraw_choices()
        elif p.kind != "numeric" and self.item.answered:
            self.save(None)

    def action_enter(self) -> None:
        numeric = self.query_one("#numeric", Input)
        if self.item.presented.kind == "numeric" and not self.feedback_shown:
            text = numeric.value.strip()
            if text:
                self.save(text)
                if self.session.immediate_feedback and self.feedback_shown:
                    return  # read the feedback; enter again moves on
        self.action_next()

    def show_feedback(self) -> None:
        self.feedback_shown = True
        item = self.item
        box = self.query_one("#feedback", Markdown)
        head = "### ✓ Correct" if item.correct else "### ✗ Not quite"
        box.update(head + "\n\n" + explanation_markdown(item.presented, item.response))
        box.add_class("shown")
        box.set_class(bool(item.correct), "right")
        box.set_class(not item.correct, "wrong")

    def hide_feedback(self) -> None:
        self.feedback_shown = False
        self.query_one("#feedback", Markdown).remove_class("shown")

    # --- navigation ---------------------------------------------------------------------

    def action_next(self) -> None:
        if self.session.current + 1 < len(self.session.items):
            self.show(self.session.current + 1)
        else:
            self.action_submit()

    def action_previous(self) -> None:
        if self.session.current > 0:
            self.show(self.session.current - 1)

    def on_jump_to(self, message: JumpTo) -> None:
        self.show(message.position)

    def action_goto(self) -> None:
        from tui.screens.dialogs import GotoDialog

        self.app.push_screen(
            GotoDialog(len(self.session.items)), lambda n: n is not None and self.show(n)
        )

    def action_flag(self) -> None:
        try:
            self.session.flag(self.session.current)
        except SessionError as exc:
            self.notify(str(exc), severity="error")
            if self.session.submitted:
                self.finish()
            return
        # only the flag changed: keep whatever is being typed or picked
        self.render_head()
        self.refresh_status()

    def action_submit(self) -> None:
        from tui.screens.dialogs import SubmitDialog

        c = self.session.counts()
        self.app.push_screen(
            SubmitDialog(c["unanswered"], c["flagged"], c["total"]),
            lambda yes: yes and self.finish(submit=True),
        )

    def finish(self, *, submit: bool = False) -> None:
        """Submit (when asked) and replace this screen with the results."""
        from tui.screens.results import ResultsScreen

        if submit and not self.session.submitted:
            self.session.submit()
        self.app.switch_screen(ResultsScreen(self.session))

    def action_leave(self) -> None:
        if self.session.deadline is not None:
            self.notify(
                "Your exam is saved and its clock keeps running. Press r on Home to resume."
            )
        self.app.pop_screen()

    def action_report(self) -> None:
        from tui.screens.dialogs import report_question_dialog

        if self.session.mode == "exam":
            self.notify("You can report questions in practice and review.")
            return
        report_question_dialog(self, self.item.presented, self.session.attempt_id)
