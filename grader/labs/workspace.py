"""The lab lifecycle: start, reset and solve a learner's workspace.

``start`` copies ``starter/`` into the workspace and runs the lab's setup (seeded data);
``reset`` restores the workspace in place; ``solve`` applies the reference solution (for
authors, instructors and tests — never offered to learners in the TUI).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from grader import paths
from grader.labs.model import Lab
from grader.store.db import Store


class LabError(Exception):
    """A lifecycle step failed; the message says why in the learner's words."""


@dataclass(frozen=True)
class LabContext:
    """What a lab's own code (setup, solve, ground truth) is given."""

    lab: Lab
    workspace: Path
    seed: int

    @property
    def lab_dir(self) -> Path:
        return self.lab.folder


def workspace_for(lab: Lab, learner: str) -> Path:
    """The learner's workspace for ``lab``."""
    return paths.workspaces_dir() / learner / lab.id


def attempt_row(store: Store, lab: Lab, learner: str) -> dict | None:
    """The learner's current attempt at ``lab`` (the latest), or None."""
    row = store.one(
        """SELECT a.* FROM lab_attempts a JOIN learners l ON l.id = a.learner_id
           WHERE l.name = ? AND a.lab_id = ? ORDER BY a.id DESC LIMIT 1""",
        learner,
        lab.id,
    )
    return dict(row) if row else None


def _run_hook(lab: Lab, ref: str, ctx: LabContext, what: str) -> None:
    from grader.checks.sources.labcode import load_function

    try:
        fn = load_function(lab.folder, ref)
        fn(ctx)
    except Exception as exc:  # a lab's own code must not crash the tool
        raise LabError(
            f"the lab's {what} step ({ref}) failed: {type(exc).__name__}: {exc}"
        ) from exc


def _fill(lab: Lab, workspace: Path, seed: int) -> None:
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copytree(lab.starter, workspace, dirs_exist_ok=True)
    if lab.setup:
        _run_hook(lab, lab.setup, LabContext(lab, workspace, seed), "setup")


def _clear(workspace: Path) -> None:
    # Empty the folder but keep it: a learner's shell or editor may be sitting in it.
    for child in workspace.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def start(store: Store, lab: Lab, learner: str) -> tuple[dict, bool]:
    """Create the workspace and the attempt; returns (attempt row, created now?).

    Starting a lab already started keeps the learner's work and returns the existing attempt.
    """
    existing = attempt_row(store, lab, learner)
    workspace = workspace_for(lab, learner)
    if existing and Path(existing["workspace"]).is_dir():
        return existing, False
    if workspace.exists() and any(workspace.iterdir()):
        _clear(workspace)
    _fill(lab, workspace, lab.seed)
    learner_id = store.learner_id(learner)
    with store.conn as conn:
        conn.execute(
            "INSERT INTO lab_attempts (learner_id, lab_id, workspace, seed, content_hash, "
            "started_at) VALUES (?, ?, ?, ?, ?, ?)",
            (learner_id, lab.id, str(workspace), lab.seed, lab.content_hash, time.time()),
        )
    row = attempt_row(store, lab, learner)
    assert row is not None
    return row, True


def require_started(store: Store, lab: Lab, learner: str) -> dict:
    """The current attempt, or a LabError telling the learner to start the lab."""
    row = attempt_row(store, lab, learner)
    if row is None or not Path(row["workspace"]).is_dir():
        raise LabError(f"lab {lab.id!r} is not started: run 'certlab lab start {lab.id}'")
    return row


def reset(store: Store, lab: Lab, learner: str) -> dict:
    """Restore the workspace to the starter files and fresh data, in place."""
    row = require_started(store, lab, learner)
    workspace = Path(row["workspace"])
    _clear(workspace)
    _fill(lab, workspace, row["seed"])
    with store.conn as conn:
        conn.execute("UPDATE lab_attempts SET reset_at = ? WHERE id = ?", (time.time(), row["id"]))
    return row


def solve(store: Store, lab: Lab, learner: str) -> dict:
    """Apply the reference solution over the workspace (starting the lab if needed)."""
    row, _ = start(store, lab, learner)
    workspace = Path(row["workspace"])
    shutil.copytree(lab.solution, workspace, dirs_exist_ok=True)
    if lab.solve:
        _run_hook(lab, lab.solve, LabContext(lab, workspace, row["seed"]), "solve")
    with store.conn as conn:
        conn.execute("UPDATE lab_attempts SET solved_at = ? WHERE id = ?", (time.time(), row["id"]))
    return row
