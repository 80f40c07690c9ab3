"""Home: the four levels as a ladder, each with its exams and the learner's standing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Markdown, OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from grader.exams.history import LevelStanding, standings
from grader.exams.session import open_attempt_ids
from grader.progress.dashboard import LevelProgress, level_progress
from tui.messages import ContentLoaded

if TYPE_CHECKING:
    from tui.app import CertlabApp


class HomeScreen(Screen[None]):
    """Pick an exam; see prerequisites, best scores and attempts per level."""

    BINDINGS = [
        Binding("enter", "start", "Start exam", id="home.start", show=True),
        Binding(
            "p",
            "practice",
            "Practice",
            id="home.practice",
            tooltip="10 questions, instant feedback",
        ),
        Binding("d", "drill", "Drill domain", id="home.drill", show=False),
        Binding("m", "missed", "Missed only", id="home.missed", show=False),
        Binding("r", "resume", "Resume", id="home.resume"),
        Binding("h", "history", "History", id="home.history", show=False),
        Binding("l", "labs", "Labs", id="home.labs"),
        Binding("n", "next", "Next step", id="home.next"),
        Binding("v", "review_cards", "Reviews", id="home.reviews"),
    ]

    app: CertlabApp

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="banner")
        with Horizontal(id="home"):
            yield OptionList(id="forms")
            with VerticalScroll(id="level-info-pane"):
                yield Markdown(id="level-info")
                yield Sparkline([], id="scores")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#forms", OptionList).focus()

    def on_screen_resume(self) -> None:
        self.refresh_view()

    def on_content_loaded(self, message: ContentLoaded) -> None:
        self.refresh_view()

    # --- drawing ------------------------------------------------------------------------

    def _standings(self) -> dict[str, LevelStanding]:
        store = self.app.store
        return standings(store, self.app.settings.learner) if store else {}

    def refresh_view(self) -> None:
        """Rebuild the ladder from the content and the store."""
        tracks = self.app.tracks
        if tracks is None:
            return
        marks = self._standings()
        options = self.query_one("#forms", OptionList)
        highlighted = options.highlighted_option.id if options.highlighted_option else None
        options.clear_options()
        for level in tracks.levels.values():
            s = marks.get(level.id)
            badge = " ✓ passed" if s and s.passed else ""
            options.add_option(
                Option(f"[b]{level.rank + 1}. {level.title}[/b]{badge}", disabled=True)
            )
            for form in sorted(
                (f for f in tracks.forms.values() if f.level == level.id),
                key=lambda f: -f.questions,
            ):
                kind = form.title.split(" — ")[-1]
                options.add_option(
                    Option(
                        f"   {kind}: {form.questions} q · {form.minutes} min · {form.pass_mark:g}%",
                        id=form.id,
                    )
                )
        if highlighted and highlighted in {o.id for o in options.options}:
            options.highlighted = options.get_option_index(highlighted)
        elif options.option_count:
            options.highlighted = 1
        self._show_level()
        self._show_banner()

    def _show_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        store = self.app.store
        open_ids = open_attempt_ids(store, self.app.settings.learner) if store else []
        if open_ids:
            banner.update(
                f"You have an exam in progress (attempt {open_ids[0]}): press [b]r[/b] to resume."
            )
            banner.add_class("shown")
        else:
            banner.remove_class("shown")

    def _selected_form(self) -> str | None:
        options = self.query_one("#forms", OptionList)
        option = options.highlighted_option
        return option.id if option else None

    @on(OptionList.OptionHighlighted, "#forms")
    def _show_level(self) -> None:
        tracks = self.app.tracks
        form_id = self._selected_form()
        if tracks is None or form_id is None:
            return
        form = tracks.forms[form_id]
        level = tracks.levels[form.level]
        pre = ", ".join(tracks.levels[p].title for p in level.prerequisites if p in tracks.levels)
        lines = [f"## {level.title}", ""]
        progress = self._progress(level.id)
        sparkline = self.query_one("#scores", Sparkline)
        if progress is None:
            lines += [f"- {d.title} — {d.weight:g}%" for d in level.domains]
            lines += ["", "*Loading the question bank…*"]
            sparkline.display = False
        else:
            lines += self._dashboard_lines(progress)
            sparkline.data = progress.scores[-20:]
            sparkline.display = len(progress.scores) >= 2
        lines += [
            "",
            level.summary,
            "",
            f"*Recommended first: {pre} (advice, not a lock).*" if pre else "*A starting point.*",
        ]
        self.query_one("#level-info", Markdown).update("\n".join(lines))

    def _progress(self, level_id: str) -> LevelProgress | None:
        content, store = self.app.content, self.app.store
        if content is None or store is None:
            return None
        levels = level_progress(store, content, self.app.settings.learner)
        return next((p for p in levels if p.level == level_id), None)

    @staticmethod
    def _dashboard_lines(p: LevelProgress) -> list[str]:
        if p.readiness is None:
            ready = "**Readiness:** sit the full exam to measure it."
        else:
            trend = "" if p.trend is None else f" ({p.trend:+.0f} on the last exam)"
            ready = f"**Readiness:** {p.readiness:.0f}%{trend} over your latest full exams"
        status = "✓ complete" if p.complete else ("exam passed" if p.exam_passed else "")
        lines = [
            f"**Next:** {p.next_step} — press **n**",
            "",
            ready + (f" — {status}" if status else ""),
            "",
            f"**Labs passed:** {p.labs_passed}/{p.labs_total} · **reviews due:** {p.reviews_due}",
            "",
            "**Mastery** (your recent answers; weight in the exam):",
            "",
        ]
        for d in p.domains:
            if d.percent is None:
                bar = "`··········`  –"
            else:
                filled = round(10 * d.percent / 100)
                bar = f"`{'█' * filled}{'░' * (10 - filled)}` {d.percent:3.0f}%"
            lines.append(f"- {bar} {d.title} ({d.weight:g}%)")
        if p.seconds_per_question is not None and p.pace_seconds:
            lines += [
                "",
                f"**Pace:** {p.seconds_per_question:.0f} s a question in your last "
                f"exam, against {p.pace_seconds:.0f} s allowed.",
            ]
        if p.leeches:
            lines += ["", f"**Leeches** (missed again and again — read up): {', '.join(p.leeches)}"]
        return lines

    # --- actions ------------------------------------------------------------------------

    def _bank_ready(self) -> bool:
        if self.app.content is None:
            self.notify("The question bank is still loading — try again in a moment.")
            return False
        return True

    @on(OptionList.OptionSelected, "#forms")
    def _selected(self) -> None:
        self.action_start()

    def action_start(self) -> None:
        from tui.screens.dialogs import StartDialog

        form_id = self._selected_form()
        if form_id is None or not self._bank_ready():
            return
        form = self.app.content.form(form_id)  # type: ignore[union-attr]
        self.app.push_screen(StartDialog(form), self._start_chosen)

    def _start_chosen(self, choice: str | None) -> None:
        if choice is None:
            return
        form = self.app.content.form(self._selected_form() or "")  # type: ignore[union-attr]
        self._begin(form=form, mode=choice, minutes=None if choice == "exam" else 0)

    def _begin(self, **kwargs: object) -> None:
        from grader.exams.session import Session, SessionError
        from tui.screens.exam import ExamScreen

        store, content = self.app.store, self.app.content
        if store is None or content is None:
            return
        try:
            session = Session.start(store, content, self.app.settings.learner, **kwargs)  # type: ignore[arg-type]
        except SessionError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(ExamScreen(session))

    def _level(self) -> str | None:
        form_id = self._selected_form()
        return self.app.tracks.forms[form_id].level if form_id and self.app.tracks else None

    def action_practice(self) -> None:
        if (level := self._level()) and self._bank_ready():
            self._begin(level=level, count=10, mode="practice")

    def action_drill(self) -> None:
        from tui.screens.dialogs import DomainDialog

        if (level := self._level()) and self._bank_ready():
            domains = self.app.tracks.levels[level].domains  # type: ignore[union-attr]
            self.app.push_screen(
                DomainDialog(domains),
                lambda d: d and self._begin(level=level, count=10, mode="drill", domain=d),
            )

    def action_missed(self) -> None:
        from grader.exams.session import missed_question_ids

        level = self._level()
        if not level or not self._bank_ready() or self.app.store is None:
            return
        missed = missed_question_ids(self.app.store, self.app.settings.learner, level)
        if not missed:
            self.notify("Nothing missed at this level yet.")
            return
        self._begin(level=level, count=min(20, len(missed)), mode="drill", only=missed)

    def action_resume(self) -> None:
        store = self.app.store
        open_ids = open_attempt_ids(store, self.app.settings.learner) if store else []
        if not open_ids:
            self.notify("No exam in progress.")
            return
        self.app.open_attempt(open_ids[0])

    def action_history(self) -> None:
        from tui.screens.history import HistoryScreen

        self.app.push_screen(HistoryScreen())

    def action_labs(self) -> None:
        from tui.screens.labs import LabsScreen

        self.app.push_screen(LabsScreen())

    def action_next(self) -> None:
        """Do the dashboard's next step for the highlighted level."""
        level = self._level()
        progress = self._progress(level) if level else None
        if progress is None:
            self.notify("The question bank is still loading — try again in a moment.")
            return
        action = progress.next_action
        if action.get("do") == "review":
            self.action_review_cards()
        elif action.get("do") == "drill":
            self._begin(level=level, count=10, mode="drill", domain=action["domain"])
        elif action.get("do") == "lab":
            from tui.screens.labs import LabsScreen

            self.app.push_screen(LabsScreen(select=action["lab"]))
        elif action.get("do") == "exam":
            self.action_start()
        else:
            self.notify("This level is complete.")

    def action_review_cards(self) -> None:
        from grader.progress.cards import cards
        from tui.screens.cards import CardReviewScreen

        if not self._bank_ready() or self.app.store is None:
            return
        due = cards(self.app.store, self.app.settings.learner, due_only=True)
        if not due:
            self.notify("No reviews due. Missed and flagged questions become cards.")
            return
        self.app.push_screen(CardReviewScreen(due))
