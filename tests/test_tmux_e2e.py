"""End to end in a real terminal: the real `certlab` command in tmux, a five-question exam."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from grader import paths
from grader.store.db import open_store

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None and not os.environ.get("CERTLAB_REQUIRE_TMUX"),
    reason="tmux is not installed (apt-get install tmux); .ci/run requires this test",
)


class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        self.name = f"certlab-{uuid.uuid4().hex[:8]}"
        self.env = env

    def run(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True,
                              env=self.env).stdout

    def start(self, command: str) -> None:
        self.run("new-session", "-d", "-s", self.name, "-x", "80", "-y", "24", command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.name, *keys)

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """Poll the pane until ``text`` shows (a condition, not a fixed sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in shown:
                return shown
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared; the screen was:\n{shown}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True,
                       env=self.env)


def _items(attempt_id: int) -> list[dict]:
    with open_store(paths.database_path(), readonly=True) as db:
        return [dict(r) for r in db.all(
            "SELECT * FROM attempt_items WHERE attempt_id = ? ORDER BY position", attempt_id)]


def test_five_question_exam_in_a_real_terminal(tmp_path: Path) -> None:
    certlab = shutil.which("certlab")
    assert certlab, "the certlab command must be installed (pip install -e .)"
    env = {**os.environ, "TERM": "xterm-256color", "TMUX": "", "TMUX_TMPDIR": str(tmp_path)}
    tmux = Tmux(env)
    tmux.start(f"{certlab} exam start foundation-quick --seed 11; sleep 30")
    try:
        tmux.wait_for("Question 1 of 5")
        with open_store(paths.database_path(), readonly=True) as db:
            attempt_id = db.one("SELECT id FROM attempts")["id"]
        items = _items(attempt_id)
        assert len(items) == 5

        for position, row in enumerate(items):
            tmux.wait_for(f"Question {position + 1} of 5")
            p = json.loads(row["presented"])
            order = [c["id"] for c in p["choices"]]
            if p["kind"] == "numeric":
                tmux.keys(f"{p['answer']:g}")
            else:  # the right answer for all but the last question
                key = p["key"] if position < 4 else [i for i in order if i not in p["key"]][:1]
                if p["kind"] == "ordering" and position == 4:
                    key = list(reversed(p["key"]))
                for cid in key:
                    tmux.keys(str(order.index(cid) + 1))
            tmux.wait_for(f"{position + 1} answered")
            if position == 2:
                tmux.keys("f")
                tmux.wait_for("⚑ flagged")
            tmux.keys("Enter")
        tmux.wait_for("Submit the exam?")
        tmux.keys("Tab", "Enter")
        shown = tmux.wait_for("right); pass mark 70%")
        assert "4 of 5 right" in shown or "5 of 5 right" in shown
        tmux.keys("C-q")
    finally:
        tmux.kill()
    with open_store(paths.database_path(), readonly=True) as db:
        attempt = dict(db.one("SELECT * FROM attempts WHERE id = ?", attempt_id))
    items = _items(attempt_id)
    assert attempt["status"] == "submitted"
    assert all(i["response"] is not None for i in items)
    assert [i["flagged"] for i in items] == [0, 0, 1, 0, 0]
    assert [bool(i["correct"]) for i in items[:4]] == [True] * 4
    assert attempt["score"] in (80.0, 100.0)
