"""Spaced repetition through SQLite, the progress dashboard, and the review session in the TUI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import FakeClock, right_answer, wrong_answer

from grader.cli import main
from grader.content import Content
from grader.exams.session import Session
from grader.progress.cards import LEECH_LAPSES, cards, review
from grader.progress.dashboard import level_progress
from grader.store.db import Store

DAY = 86_400.0


def _sit(
    store: Store,
    content: Content,
    clock: FakeClock,
    *,
    wrong: set[int] = frozenset(),
    flag: set[int] = frozenset(),
    mode: str = "exam",
    seed: int = 5,
) -> Session:
    """Sit the mini foundation exam: right everywhere except ``wrong``; flag ``flag``."""
    if mode == "exam":
        s = Session.start(
            store, content, "tester", form=content.form("foundation"), seed=seed, clock=clock
        )
    else:
        s = Session.start(
            store,
            content,
            "tester",
            level="foundation",
            count=10,
            mode=mode,
            seed=seed,
            clock=clock,
        )
    for item in s.items:
        p = item.presented
        s.answer(item.position, wrong_answer(p) if item.position in wrong else right_answer(p))
        if item.position in flag:
            s.flag(item.position, True)
        clock.advance(30)
    s.submit()
    return s


def test_missed_and_flagged_questions_become_cards(
    store: Store, content: Content, clock: FakeClock
) -> None:
    s = _sit(store, content, clock, wrong={0, 1}, flag={2})
    made = {c.question_id: c.reason for c in cards(store, "tester", at=clock())}
    qid = [i.presented.question_id for i in s.items]
    assert made == {qid[0]: "missed", qid[1]: "missed", qid[2]: "flagged"}
    assert len(cards(store, "tester", due_only=True, at=clock())) == 3


def test_ratings_round_trip_through_sqlite_and_schedule(
    store: Store, content: Content, clock: FakeClock
) -> None:
    _sit(store, content, clock, wrong={0, 1})
    a, b = cards(store, "tester", at=clock())
    good = review(store, a.id, "good", at=clock())
    again = review(store, b.id, "again", at=clock())
    assert good.due > again.due > clock() - 1  # Good waits longer than Again
    assert (good.reviews, good.lapses, again.lapses) == (1, 0, 1)
    row = store.one("SELECT card FROM cards WHERE id = ?", a.id)
    from fsrs import Card

    restored = Card.from_dict(json.loads(row["card"]))
    assert restored.due.timestamp() == pytest.approx(good.due)
    assert restored.stability is not None
    ratings = [r["rating"] for r in store.all("SELECT rating FROM card_reviews ORDER BY id")]
    assert ratings == [3, 1]
    with pytest.raises(ValueError, match="rating must be one of"):
        review(store, a.id, "meh")


def test_exams_review_existing_cards_but_practice_does_not(
    store: Store, content: Content, clock: FakeClock
) -> None:
    first = _sit(store, content, clock, wrong={0})
    missed = first.items[0].presented.question_id
    clock.advance(DAY)
    _sit(store, content, clock, mode="practice", wrong=set(range(10)), seed=9)
    card = next(c for c in cards(store, "tester") if c.question_id == missed)
    assert card.reviews == 0  # practice rates nothing
    clock.advance(DAY)
    again = _sit(store, content, clock, wrong=set(range(10)), seed=5)
    assert missed in {i.presented.question_id for i in again.items}
    card = next(c for c in cards(store, "tester") if c.question_id == missed)
    assert (card.reviews, card.lapses) == (1, 1)


def test_a_question_missed_again_and_again_is_a_leech(
    store: Store, content: Content, clock: FakeClock
) -> None:
    _sit(store, content, clock, wrong={0})
    (card,) = cards(store, "tester")
    for _ in range(LEECH_LAPSES - 1):
        assert not review(store, card.id, "again", at=clock()).leech
    assert review(store, card.id, "again", at=clock()).leech
    foundation = next(
        p for p in level_progress(store, content, "tester", clock()) if p.level == "foundation"
    )
    assert foundation.leeches == [card.question_id]


def test_dashboard_readiness_trend_mastery_and_next_step(
    store: Store, content: Content, clock: FakeClock
) -> None:
    empty = level_progress(store, content, "tester", clock())[0]
    assert (empty.readiness, empty.trend, empty.scores) == (None, None, [])
    assert empty.next_action["do"] == "drill"  # nothing answered: start somewhere
    _sit(store, content, clock, wrong={0, 1, 2, 3, 4})
    clock.advance(DAY)
    _sit(store, content, clock, wrong={0}, seed=6)
    p = level_progress(store, content, "tester", clock())[0]
    assert p.scores == [50.0, 90.0]
    assert p.readiness == 70.0 and p.trend == 40.0
    assert p.exam_passed and not p.complete  # the level's lab is not passed
    assert p.reviews_due > 0 and p.next_action == {"do": "review", "level": "foundation"}
    assert sum(d.answered for d in p.domains) == 20
    assert p.seconds_per_question is not None and p.pace_seconds == 60.0
    for c in cards(store, "tester", due_only=True, at=clock()):
        review(store, c.id, "easy", at=clock())
    after = level_progress(store, content, "tester", clock())[0]
    assert after.reviews_due == 0 and after.next_action["do"] in ("drill", "lab")


def test_progress_cli(
    mini_content: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CERTLAB_CONTENT", str(mini_content))
    assert main(["progress", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["learner"] == "tester"
    assert [lv["level"] for lv in data["levels"]] == ["foundation", "engineer"]
    assert {"readiness", "trend", "domains", "labs_passed", "next_step", "complete"} <= set(
        data["levels"][0]
    )
    assert main(["progress"]) == 0
    assert "next" in capsys.readouterr().out
    assert main(["cards", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


async def test_review_session_in_the_tui_rates_cards(mini_content: Path) -> None:
    from grader.settings import Settings
    from tui.app import make_app
    from tui.screens.cards import CardReviewScreen
    from tui.screens.home import HomeScreen

    app = make_app(Settings(learner="tester"), content_root=mini_content)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        _sit(app.store, app.content, FakeClock(start=1000.0), wrong={0, 1})
        due = cards(app.store, "tester", due_only=True)
        assert len(due) == 2
        await pilot.press("v")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CardReviewScreen)
        for _ in range(2):
            p = screen.item.presented
            if p.kind == "numeric":
                screen.save(str(p.answer))
            else:
                screen.save(right_answer(p))
            await pilot.press("g")
            await pilot.pause()
        assert isinstance(app.screen, HomeScreen)
    reviewed = cards(app.store, "tester")
    assert [c.reviews for c in reviewed] == [1, 1]
    assert cards(app.store, "tester", due_only=True) == []
