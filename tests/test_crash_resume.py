"""A real crash: a process sitting an exam is SIGKILLed; the attempt resumes intact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from helpers import REPO, right_answer

from grader.exams.session import Session
from grader.store.db import open_store

# Starts the mini foundation exam, answers, flags and moves, prints what it did, then dies
# without any chance to clean up. argv: content root, minutes, seconds to back-date the clock.
SIT_AND_DIE = r"""
import json, os, signal, sys, time
from pathlib import Path

from grader.content import load_content
from grader.exams.session import Session
from grader.store.db import open_store
from helpers import right_answer, wrong_answer

root, minutes, back = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
now = [time.time() - back]
clock = lambda: now[0]
content = load_content(root)
store = open_store()
s = Session.start(store, content, "tester", form=content.form("foundation"), seed=7,
                  minutes=minutes, clock=clock)
answers = {
    0: right_answer(s.items[0].presented),
    1: wrong_answer(s.items[1].presented),
    2: right_answer(s.items[2].presented),
}
for pos, response in answers.items():
    s.answer(pos, response)
    now[0] += 5
    s.move(pos + 1)
s.flag(1)
s.flag(3)
now[0] += 5
s.move(5)
print(json.dumps({
    "attempt": s.attempt_id,
    "deadline": s.deadline,
    "answers": {str(p): s.items[p].response for p in answers},
    "correct": {str(p): s.items[p].correct for p in answers},
}), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
print("still alive", flush=True)
"""


def sit_and_die(mini_content, minutes: int, back: float = 0.0) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO)]))
    proc = subprocess.run(
        [sys.executable, "-c", SIT_AND_DIE, str(mini_content), str(minutes), str(back)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert "still alive" not in proc.stdout
    return json.loads(proc.stdout)


def test_a_killed_exam_resumes_with_every_answer_flag_and_the_time_really_left(mini_content):
    died = sit_and_die(mini_content, minutes=10, back=20)
    with open_store() as store:
        session = Session.resume(store, died["attempt"])
        now = time.time()
        assert not session.submitted
        assert session.deadline == died["deadline"]
        assert abs(session.remaining() - (died["deadline"] - now)) < 1
        assert 540 < session.remaining() <= 600
        assert session.current == 5
        for pos, response in died["answers"].items():
            item = session.items[int(pos)]
            assert item.response == response
            assert item.correct == died["correct"][pos]
        assert [i.flagged for i in session.items] == [i in (1, 3) for i in range(10)]
        assert [i.answered for i in session.items] == [i < 3 for i in range(10)]
        assert [i.time_spent for i in session.items[:5]] == [5, 5, 5, 5, 0]
        # and it carries on as normal
        session.answer(5, right_answer(session.items[5].presented))
        result = session.submit()
        assert result.correct == 3 and not result.auto_submitted


def test_a_killed_exam_past_its_deadline_is_submitted_on_resume(mini_content):
    # the exam had one minute and started two minutes ago: it is over when we come back
    died = sit_and_die(mini_content, minutes=1, back=120)
    with open_store() as store:
        assert died["deadline"] < time.time()
        session = Session.resume(store, died["attempt"])
        assert session.submitted
        result = session.result()
        assert result.auto_submitted is True
        assert result.correct == 2 and result.total == 10
        assert session.row["submitted_at"] == died["deadline"]
        assert sum(i.time_spent for i in session.items) <= 60
        assert [i.flagged for i in session.items] == [i in (1, 3) for i in range(10)]
