"""Shared fixtures: an isolated CERTLAB_HOME, a small content tree and an open store."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import MINI, FakeClock

from grader.content import Content, load_content
from grader.store.db import Store, open_store

# BLAS threads fight over two cores; one thread each keeps model fits fast and repeatable,
# here and in the subprocesses the tests start.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own CERTLAB_HOME, learner 'tester' and the default content root."""
    home = tmp_path / "certlab-home"
    monkeypatch.setenv("CERTLAB_HOME", str(home))
    for name in ("CERTLAB_LEARNER", "CERTLAB_INSTRUCTOR", "CERTLAB_CONTENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CERTLAB_LEARNER", "tester")
    return home


@pytest.fixture
def mini_content(tmp_path: Path) -> Path:
    """A copy of tests/fixtures/mini: two levels, two forms, every kind of question.

    foundation (lifecycle 40, serving 30, monitoring 30; exam 'foundation': 10 questions,
    10 minutes, pass mark 70): seven single, one multiple (choose 2), one ordering, two
    numeric and one parametric question; monitoring holds only 2, so a 10-question form spills.
    engineer (pipelines 60, ops 40; requires foundation; exam 'engineer': 6 questions, 20
    minutes, pass mark 75, prefers case studies): singles and a 3-question case study.
    """
    root = tmp_path / "content"
    shutil.copytree(MINI, root)
    return root


@pytest.fixture
def content(mini_content: Path) -> Content:
    """The mini content, loaded; it must be free of problems."""
    loaded = load_content(mini_content)
    assert loaded.problems == []
    return loaded


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """An open progress store in tmp_path."""
    db = open_store(tmp_path / "store" / "certlab.db")
    yield db
    db.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
