"""Pilot tests: take exams through the TUI, then read what the database holds."""

from __future__ import annotations

from pathlib import Path

from helpers import FakeClock

from grader import paths
from grader.exams.session import Session
from grader.settings import Settings
from grader.store.db import open_store
from tui.app import CertlabApp, make_app
from tui.screens.dialogs import StartDialog, SubmitDialog
from tui.screens.exam import ExamScreen, format_clock
from tui.screens.home import HomeScreen
from tui.screens.results import ResultsScreen
from tui.screens.review import ReviewScreen


async def _ready(app: CertlabApp, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause()
    assert app.content is not None


def _attempt_rows(attempt_id: int) -> tuple[dict, list[dict]]:
    with open_store(paths.database_path(), readonly=True) as db:
        attempt = dict(db.one("SELECT * FROM attempts WHERE id = ?", attempt_id))
        items = [
            dict(r)
            for r in db.all(
                "SELECT * FROM attempt_items WHERE attempt_id = ? ORDER BY position", attempt_id
            )
        ]
    return attempt, items


async def _open_form(app: CertlabApp, pilot, form_id: str) -> None:
    home = app.screen
    assert isinstance(home, HomeScreen)
    options = home.query_one("#forms")
    options.highlighted = options.get_option_index(form_id)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, StartDialog)


async def test_quick_exam_through_the_tui_is_stored(mini_content: Path) -> None:
    app = make_app(Settings(learner="pilot"), content_root=mini_content)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await _open_form(app, pilot, "foundation")
        await pilot.click("#exam")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExamScreen)
        session = screen.session
        assert session.mode == "exam" and session.remaining() is not None
        # Answer the first three questions by keyboard, flag the second.
        answered = []
        for position in range(3):
            item = session.items[position].presented
            if item.kind == "numeric":
                await pilot.press(*str(item.answer))
            elif item.kind == "ordering":
                for cid in item.key:
                    await pilot.press(str(item.option_order.index(cid) + 1))
            else:
                await pilot.press("1")
                if item.kind == "multiple":
                    await pilot.press("2")
            if position == 1:
                await pilot.press("f")
            answered.append(position)
            await pilot.press("enter")
            await pilot.pause()
        assert session.current == 3
        await pilot.press("s")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SubmitDialog)
        assert dialog.unanswered == len(session.items) - 3
        assert dialog.flagged == 1
        await pilot.click("#submit")
        await pilot.pause()
        assert isinstance(app.screen, ResultsScreen)
        attempt, items = _attempt_rows(session.attempt_id)
    assert attempt["status"] == "submitted" and attempt["auto_submitted"] == 0
    assert [i["response"] is not None for i in items[:3]] == [True, True, True]
    assert all(i["response"] is None for i in items[3:])
    assert [i["flagged"] for i in items[:3]] == [0, 1, 0]
    assert sum(i["time_spent"] for i in items) >= 0
    assert attempt["score"] == 100.0 * sum(bool(i["correct"]) for i in items) / len(items)


async def test_practice_shows_feedback_at_once(mini_content: Path) -> None:
    app = make_app(Settings(learner="pilot"), content_root=mini_content)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await _open_form(app, pilot, "foundation")
        await pilot.click("#practice")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ExamScreen)
        assert screen.session.mode == "practice" and screen.session.remaining() is None
        # Find a single-choice question and answer it wrongly on purpose.
        position = next(i.position for i in screen.session.items if i.presented.kind == "single")
        screen.show(position)
        item = screen.session.items[position].presented
        wrong = next(n for n, c in enumerate(item.choices, 1) if not c.correct)
        await pilot.press(str(wrong))
        await pilot.pause()
        feedback = screen.query_one("#feedback")
        assert screen.feedback_shown and feedback.has_class("shown", "wrong")
        assert screen.session.items[position].correct is False


async def test_exam_screen_submits_itself_at_zero(mini_content: Path) -> None:
    app = make_app(Settings(learner="pilot"), content_root=mini_content)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        clock = FakeClock()
        session = Session.start(
            app.store,
            app.content,
            "pilot",
            form=app.content.form("foundation"),
            seed=3,
            clock=clock,
        )
        await app.push_screen(ExamScreen(session))
        await pilot.pause()
        clock.advance(10 * 60 + 1)
        app.screen.update_clock()
        await pilot.pause()
        assert isinstance(app.screen, ResultsScreen)
        assert app.screen.result.auto_submitted
    attempt, _ = _attempt_rows(session.attempt_id)
    assert attempt["status"] == "submitted" and attempt["auto_submitted"] == 1


async def test_reopening_past_the_deadline_shows_results(mini_content: Path) -> None:
    clock = FakeClock(start=1_000.0)  # long ago: the deadline passed long before now
    with open_store() as db:
        from grader.content import load_content

        content = load_content(mini_content)
        session = Session.start(db, content, "pilot", form=content.form("foundation"), clock=clock)
        session.answer(
            0,
            session.items[0].presented.option_order[0]
            if session.items[0].presented.kind == "single"
            else None,
        )
    app = make_app(Settings(learner="pilot"), content_root=mini_content, attempt=session.attempt_id)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        assert isinstance(app.screen, ResultsScreen)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
    attempt, _ = _attempt_rows(session.attempt_id)
    assert attempt["status"] == "submitted" and attempt["auto_submitted"] == 1


async def test_leaving_and_resuming_keeps_answers(mini_content: Path) -> None:
    app = make_app(Settings(learner="pilot"), content_root=mini_content)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        await _open_form(app, pilot, "foundation")
        await pilot.click("#exam")
        await pilot.pause()
        session = app.screen.session
        first = session.items[0].presented
        if first.kind in ("single", "multiple"):
            await pilot.press("1")
        await pilot.press("f", "escape")
        await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
        assert app.screen.query_one("#banner").has_class("shown")
        await pilot.press("r")
        await pilot.pause()
        resumed = app.screen
        assert isinstance(resumed, ExamScreen)
        assert resumed.session.attempt_id == session.attempt_id
        assert resumed.session.items[0].flagged


def test_countdown_format() -> None:
    assert format_clock(None) == "untimed"
    assert format_clock(0) == "0:00"
    assert format_clock(0.2) == "0:01"
    assert format_clock(65) == "1:05"
    assert format_clock(3 * 3600 + 9) == "3:00:09"


async def test_reporting_a_question_from_the_review(mini_content: Path) -> None:
    from grader.exams.reports import list_reports

    app = make_app(Settings(learner="pilot"), content_root=mini_content)
    async with app.run_test(size=(80, 24)) as pilot:
        await _ready(app, pilot)
        session = Session.start(app.store, app.content, "pilot", level="foundation", count=3,
                                mode="practice", seed=2)
        session.submit()
        await app.push_screen(ReviewScreen(session))
        await pilot.pause()
        await pilot.press("ctrl+r")
        await pilot.pause()
        await pilot.press(*"key is wrong", "enter")
        await pilot.pause()
        reports = list_reports(app.store)
    first = session.items[0].presented
    assert [(r.question_id, r.content_hash, r.note, r.attempt_id) for r in reports] == [
        (first.question_id, first.content_hash, "key is wrong", session.attempt_id)
    ]
