"""The lab model: a lab has tasks, a task has hints and checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    points: float
    source: dict[str, Any]
    expect: Any
    message: str
    required: bool = True
    partial: bool = False
    needs: tuple[str, ...] = ()
    task: str = ""


@dataclass(frozen=True)
class Task:
    id: str
    title: str
    instructions: str
    hints: tuple[str, ...]
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class Lab:
    id: str
    title: str
    level: str
    domains: tuple[str, ...]
    minutes: int
    summary: str
    tasks: tuple[Task, ...]
    folder: Path
    content_hash: str
    requires: tuple[str, ...] = ()
    seed: int = 0
    setup: str = ""
    solve: str = ""
    file: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def checks(self) -> list[Check]:
        """Every check, in task order."""
        return [c for t in self.tasks for c in t.checks]

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    @property
    def starter(self) -> Path:
        return self.folder / "starter"

    @property
    def solution(self) -> Path:
        return self.folder / "solution"

    def task(self, task_id: str) -> Task:
        """The task with this id; KeyError names it when unknown."""
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(f"lab {self.id!r} has no task {task_id!r}")
