"""Thirty learners answering at once in one database lose nothing and see no lock errors.

This is the ``certlab serve`` situation: every browser session is its own process writing to
the same SQLite file (WAL mode, a 30 s busy timeout, BEGIN IMMEDIATE writes). The database
exists first, as ``certlab serve`` creates it before serving. Thirty OS processes start
together (released by one line on stdin, no sleeps), each opens the database, starts an exam
attempt, moves to, answers and flags every question as fast as it can, and submits.
"""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import REPO, TESTS

from grader.store.db import SCHEMA_VERSION, open_store

LEARNERS = 30

CHILD = r"""
import json, sys, traceback
from pathlib import Path

sys.path.insert(0, sys.argv[4])
from helpers import right_answer, wrong_answer

from grader.content import load_content
from grader.exams.session import Session
from grader.store.db import open_store

db_path, content_root, learner = sys.argv[1:4]
n = int(learner.rsplit("-", 1)[1])
content = load_content(Path(content_root))
form = content.form("foundation")
out = {"learner": learner, "errors": [], "answers": {}, "flags": {}}
print("ready", flush=True)
sys.stdin.readline()  # released together with the others
try:
    store = open_store(Path(db_path))
    session = Session.start(store, content, learner, form=form, seed=1000 + n)
    out["attempt"] = session.attempt_id
    for i, item in enumerate(session.items):
        session.move(i)
        p = item.presented
        session.answer(i, right_answer(p) if (i + n) % 2 else wrong_answer(p))
        out["answers"][str(i)] = session.items[i].response
        out["flags"][str(i)] = session.flag(i, (i + n) % 3 == 0)
    out["score"] = session.submit().score
    store.close()
except BaseException:
    out["errors"].append(traceback.format_exc())
print(json.dumps(out), flush=True)
"""


def test_thirty_learners_answering_at_once_lose_nothing(tmp_path, mini_content):
    db_path = tmp_path / "room" / "certlab.db"
    open_store(db_path).close()  # as `certlab serve` does before the first session starts
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                str(db_path),
                str(mini_content),
                f"learner-{n}",
                str(TESTS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for n in range(LEARNERS)
    ]
    for p in procs:  # wait until each has imported everything and loaded the bank
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:  # then release them all at once
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and "busy" not in err.lower(), err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    for r in reports:
        assert r["errors"] == [], (r["learner"], r["errors"])
        assert len(r["answers"]) == 10, r["learner"]

    with open_store(db_path) as db:
        assert db.one("PRAGMA user_version")[0] == SCHEMA_VERSION
        assert db.one("PRAGMA journal_mode")[0] == "wal"
        assert len(db.learners()) == LEARNERS
        assert db.one("SELECT COUNT(*) FROM attempts")[0] == LEARNERS
        for r in reports:
            attempt = db.one("SELECT * FROM attempts WHERE id = ?", r["attempt"])
            learner = db.one("SELECT name FROM learners WHERE id = ?", attempt["learner_id"])
            assert learner["name"] == r["learner"]
            assert attempt["status"] == "submitted" and attempt["score"] == r["score"]
            items = db.all(
                "SELECT * FROM attempt_items WHERE attempt_id = ? ORDER BY position", r["attempt"]
            )
            assert len(items) == 10
            for item in items:
                key = str(item["position"])
                assert json.loads(item["response"]) == r["answers"][key], (r["learner"], key)
                assert bool(item["flagged"]) == r["flags"][key]
            answered = db.one(
                "SELECT COUNT(*) FROM attempt_events WHERE attempt_id = ? AND kind = 'answer'",
                r["attempt"],
            )[0]
            assert answered == 10
        # every answer of every learner is there
        assert db.one("SELECT COUNT(*) FROM attempt_items WHERE response IS NOT NULL")[0] == (
            LEARNERS * 10
        )
