"""Timed sessions: every action persisted, the clock, submission, feedback and results."""

from __future__ import annotations

import contextlib
import json

import pytest
from helpers import right_answer, wrong_answer

from grader.content import load_content
from grader.exams.review import review_lines
from grader.exams.session import (
    Feedback,
    Session,
    SessionError,
    missed_question_ids,
    open_attempt_ids,
    recent_question_ids,
)


@pytest.fixture
def exam(store, content, clock) -> Session:
    """The mini foundation exam (10 questions, 10 minutes, pass mark 70), seed 7."""
    return Session.start(
        store, content, "tester", form=content.form("foundation"), seed=7, clock=clock
    )


def reopen(session: Session) -> Session:
    """A fresh Session read from the database alone."""
    return Session(session.store, session.attempt_id, session.clock)


def snapshot(session: Session) -> list[tuple]:
    return [
        (
            i.position,
            i.presented.question_id,
            i.presented.option_order,
            i.response,
            i.correct,
            i.flagged,
            round(i.time_spent, 6),
        )
        for i in session.items
    ]


def total_time(session: Session) -> float:
    return sum(i.time_spent for i in session.items)


def test_answers_flags_and_moves_persist(exam, clock):
    items = exam.items
    assert exam.answer(0, right_answer(items[0].presented)) is None
    exam.answer(3, wrong_answer(items[3].presented))
    assert exam.flag(1) is True
    assert exam.flag(2, True) is True
    assert exam.flag(2) is False  # toggles back
    clock.advance(12)
    exam.move(4)
    again = reopen(exam)
    assert snapshot(again) == snapshot(exam)
    assert again.current == 4
    assert again.items[0].correct is True and again.items[3].correct is False
    assert [i.flagged for i in again.items][:3] == [False, True, False]
    assert again.counts() == {"total": 10, "answered": 2, "unanswered": 8, "flagged": 1}
    # clearing an answer is persisted too
    exam.answer(0, None)
    assert reopen(exam).items[0].response is None
    assert reopen(exam).items[0].correct is None


def test_time_per_question_accumulates_on_move(exam, clock):
    clock.advance(30)
    exam.move(1)
    clock.advance(20)
    exam.move(0)
    clock.advance(5)
    exam.move(1)
    exam.move(1)  # staying put charges nothing
    assert [i.time_spent for i in exam.items[:3]] == [35, 20, 0]
    assert [i.time_spent for i in reopen(exam).items[:3]] == [35, 20, 0]


def test_remaining_time_counts_down_from_the_deadline(exam, clock):
    assert exam.deadline == clock.now + 600
    assert exam.remaining() == 600
    clock.advance(100.5)
    assert exam.remaining() == pytest.approx(499.5)
    clock.advance(1000)
    assert exam.remaining() == 0


def test_tick_submits_at_the_deadline_and_charges_time_only_up_to_it(exam, clock):
    start = clock.now
    clock.advance(100)
    exam.move(1)
    clock.advance(499)
    assert exam.tick() is False
    assert not exam.submitted
    clock.advance(51)  # 50 s past the deadline when the tick finally comes
    assert exam.tick() is True
    assert exam.submitted
    result = exam.result()
    assert result.auto_submitted is True
    assert exam.row["submitted_at"] == start + 600
    assert exam.items[0].time_spent == 100
    assert exam.items[1].time_spent == 500
    assert total_time(exam) == 600
    assert exam.tick() is False  # already submitted


def test_actions_after_the_deadline_never_charge_time_past_it(exam, clock):
    clock.advance(700)  # no tick came: the next action must not bill the 100 s over
    with contextlib.suppress(SessionError):  # refusing the move is fine; billing it is not
        exam.move(1)
    exam.tick()
    assert exam.submitted
    assert exam.result().auto_submitted is True
    assert total_time(reopen(exam)) <= 600


def test_answering_after_the_deadline_submits_and_refuses(exam, clock):
    clock.advance(601)
    with pytest.raises(SessionError, match="time is up"):
        exam.answer(0, right_answer(exam.items[0].presented))
    assert exam.submitted
    assert exam.items[0].response is None
    assert reopen(exam).row["auto_submitted"] == 1


def test_resume_past_the_deadline_submits_at_once(exam, clock):
    exam.answer(0, right_answer(exam.items[0].presented))
    clock.advance(3600)
    resumed = Session.resume(exam.store, exam.attempt_id, clock)
    assert resumed.submitted
    result = resumed.result()
    assert result.auto_submitted is True
    assert result.correct == 1
    assert resumed.row["submitted_at"] == resumed.deadline


def test_resume_does_not_charge_the_time_the_app_was_closed(exam, clock):
    clock.advance(30)
    exam.answer(0, right_answer(exam.items[0].presented))  # last activity at +30
    clock.advance(200)  # the terminal was closed for 200 s
    resumed = Session.resume(exam.store, exam.attempt_id, clock)
    assert not resumed.submitted
    assert resumed.items[0].time_spent == 30
    assert resumed.remaining() == 600 - 230  # the deadline is absolute
    clock.advance(10)
    resumed.move(1)
    assert resumed.items[0].time_spent == 40


def test_practice_gives_feedback_at_once_and_the_exam_none(store, content, clock, exam):
    practice = Session.start(
        store, content, "tester", level="foundation", count=5, mode="practice", seed=3, clock=clock
    )
    assert practice.deadline is None and practice.remaining() is None
    p0, p1 = practice.items[0].presented, practice.items[1].presented
    fb = practice.answer(0, right_answer(p0))
    assert isinstance(fb, Feedback) and fb.correct is True and fb.item.position == 0
    fb = practice.answer(1, wrong_answer(p1))
    assert isinstance(fb, Feedback) and fb.correct is False
    assert practice.answer(1, None) is None  # clearing gives nothing to explain
    assert practice.immediate_feedback and not exam.immediate_feedback
    assert exam.answer(0, right_answer(exam.items[0].presented)) is None
    assert exam.answer(1, wrong_answer(exam.items[1].presented)) is None


def test_submit_is_idempotent(exam, clock):
    exam.answer(0, right_answer(exam.items[0].presented))
    clock.advance(60)
    first = exam.submit()
    submitted_at = exam.row["submitted_at"]
    clock.advance(60)
    assert exam.submit() == first
    assert exam.row["submitted_at"] == submitted_at
    assert first.auto_submitted is False and first.correct == 1
    events = exam.store.all(
        "SELECT kind FROM attempt_events WHERE attempt_id = ? AND kind = 'submit'",
        exam.attempt_id,
    )
    assert len(events) == 1


def test_submit_from_a_second_stale_session_keeps_the_first_result(exam, clock):
    other = reopen(exam)  # a second process holding the same attempt
    exam.answer(0, right_answer(exam.items[0].presented))
    first = exam.submit()
    assert other.submit().score == first.score
    assert other.submitted
    assert (
        len(
            exam.store.all(
                "SELECT 1 FROM attempt_events WHERE attempt_id = ? AND kind = 'submit'",
                exam.attempt_id,
            )
        )
        == 1
    )


def test_a_submitted_attempt_refuses_changes(exam):
    exam.submit()
    with pytest.raises(SessionError, match="already submitted"):
        exam.answer(0, right_answer(exam.items[0].presented))
    with pytest.raises(SessionError):
        exam.flag(0)
    with pytest.raises(SessionError):
        exam.move(1)


def test_unknown_attempt_and_bad_positions(exam, store):
    with pytest.raises(SessionError):
        Session(store, 9999)
    with pytest.raises(SessionError):
        exam.answer(10, "a")
    with pytest.raises(SessionError):
        exam.move(-1)


@pytest.mark.parametrize(("right", "passed"), [(7, True), (6, False)])
def test_result_breakdown_and_pass_mark(exam, right, passed):
    for item in exam.items[:right]:
        exam.answer(item.position, right_answer(item.presented))
    for item in exam.items[right:9]:
        exam.answer(item.position, wrong_answer(item.presented))
    result = exam.submit()  # the tenth is left blank
    assert (result.correct, result.total, result.score) == (right, 10, right * 10.0)
    assert result.pass_mark == 70 and result.passed is passed
    assert result.pace_seconds == 60
    expected: dict[str, list[int]] = {}
    for item in exam.items:
        tally = expected.setdefault(item.presented.domain, [0, 0])
        tally[0] += item.position < right
        tally[1] += 1
    assert {d.domain: [d.correct, d.total] for d in result.domains} == expected
    assert [d.domain for d in result.domains] == sorted(expected)
    assert sum(d.total for d in result.domains) == 10
    stored = exam.store.one("SELECT score, passed FROM attempts WHERE id = ?", exam.attempt_id)
    assert (stored["score"], bool(stored["passed"])) == (right * 10.0, passed)
    data = result.to_json()
    assert {d["domain"] for d in data["domains"]} == set(expected)


def test_each_item_stores_its_content_hash_and_option_order(exam, content, mini_content):
    rows = exam.store.all(
        "SELECT question_id, content_hash, option_order, kind, presented FROM attempt_items "
        "WHERE attempt_id = ? ORDER BY position",
        exam.attempt_id,
    )
    assert len(rows) == 10
    for row, item in zip(rows, exam.items, strict=True):
        question = content.questions[row["question_id"]]
        assert row["content_hash"] == question.content_hash
        assert json.loads(row["option_order"]) == item.presented.option_order
        assert json.loads(row["presented"])["stem"] == item.presented.stem
        assert row["kind"] == item.presented.kind
    # editing the bank later changes the hash, never the stored attempt
    path = mini_content / "question_bank" / "foundation" / "lifecycle.yaml"
    path.write_text(path.read_text().replace("What does MLOps add", "What does MLOps bring"))
    edited = load_content(mini_content)
    assert edited.questions["f-life-single-2"].content_hash != (
        content.questions["f-life-single-2"].content_hash
    )
    assert snapshot(reopen(exam)) == snapshot(exam)


def test_recent_questions_are_avoided_by_the_next_draw(store, content, clock):
    seen: set[str] = set()
    drawn = []
    for seed in (1, 2):
        s = Session.start(
            store,
            content,
            "tester",
            level="foundation",
            count=4,
            mode="practice",
            seed=seed,
            clock=clock,
        )
        ids = {i.presented.question_id for i in s.items}
        assert len(ids) == 4
        assert not ids & seen
        seen |= ids
        drawn.append(ids)
        clock.advance(60)
    learner = store.learner_id("tester")
    assert recent_question_ids(store, learner, "foundation") == seen
    assert recent_question_ids(store, learner, "engineer") == set()
    # another learner's history is not mine
    other = Session.start(
        store,
        content,
        "someone-else",
        level="foundation",
        count=4,
        mode="practice",
        seed=1,
        clock=clock,
    )
    assert {i.presented.question_id for i in other.items} == drawn[0]


def test_missed_question_ids_follow_the_latest_answer(store, content, clock, exam):
    items = exam.items
    exam.answer(0, right_answer(items[0].presented))
    exam.answer(1, wrong_answer(items[1].presented))
    exam.answer(2, wrong_answer(items[2].presented))
    exam.submit()  # 3..9 are left blank: missed as well
    qid = [i.presented.question_id for i in items]
    missed = missed_question_ids(store, "tester", "foundation")
    assert set(missed) == set(qid[1:])
    assert missed_question_ids(store, "tester", "engineer") == []
    assert missed_question_ids(store, "nobody") == []

    clock.advance(60)
    drill = Session.start(
        store,
        content,
        "tester",
        level="foundation",
        count=20,
        mode="drill",
        only=missed,
        seed=1,
        clock=clock,
    )
    assert {i.presented.question_id for i in drill.items} == set(missed)
    fixed = next(i for i in drill.items if i.presented.question_id == qid[1])
    drill.answer(fixed.position, right_answer(fixed.presented))
    # an answer in an open attempt already counts; the drill's blanks do not (not submitted)
    now_missed = missed_question_ids(store, "tester", "foundation")
    assert set(now_missed) == set(qid[2:])


def test_open_attempts_newest_first(store, content, clock, exam):
    clock.advance(5)
    later = Session.start(
        store, content, "tester", level="engineer", count=3, mode="practice", seed=1, clock=clock
    )
    assert open_attempt_ids(store, "tester") == [later.attempt_id, exam.attempt_id]
    later.submit()
    assert open_attempt_ids(store, "tester") == [exam.attempt_id]


def test_a_session_with_nothing_to_draw_is_refused(store, content):
    with pytest.raises(SessionError, match="no questions"):
        Session.start(store, content, "tester", level="foundation", count=5, only=[])
    with pytest.raises(SessionError):
        Session.start(store, content, "tester", mode="practice")


def test_the_review_renders_every_kind_right_wrong_and_blank(store, content, clock):
    whole = Session.start(
        store, content, "tester", level="foundation", count=12, seed=1, clock=clock
    )  # the whole foundation bank: every kind
    assert {"single", "multiple", "ordering", "numeric"} <= {i.presented.kind for i in whole.items}
    for item in whole.items[:-1]:
        answer = right_answer if item.position % 2 == 0 else wrong_answer
        whole.answer(item.position, answer(item.presented))
    whole.submit()
    text = "\n".join(review_lines(whole))
    assert text.count("### Question") == 12
    assert "✓ Correct" in text and "✗ Wrong" in text and "✗ Unanswered" in text
    for item in whole.items:
        assert item.presented.reference in text
