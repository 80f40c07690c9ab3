"""Load and validate ``labs/<id>/lab.yaml``; every problem names its file, line and path."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from grader.checks.assertions import check_expectation
from grader.content.model import Level
from grader.content.problems import Problem
from grader.content.yamlfile import read_yaml
from grader.labs.model import Check, Lab, Task


def _tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(
        p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    ):
        digest.update(str(path.relative_to(folder)).encode())
        try:
            digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()[:16]


def load_labs(root: Path, levels: dict[str, Level]) -> tuple[dict[str, Lab], list[Problem]]:
    """Every lab under ``root/labs``, and the problems found."""
    from grader.content.loader import schema_problems

    labs: dict[str, Lab] = {}
    problems: list[Problem] = []
    for path in sorted((root / "labs").glob("*/lab.yaml")):
        display = str(path.relative_to(root))
        doc = read_yaml(path, display)
        problems += doc.problems
        if doc.data is None:
            continue
        bad = schema_problems(doc, "lab.schema.json")
        problems += bad
        if bad:
            continue
        raw: dict[str, Any] = doc.data
        folder = path.parent
        found: list[Problem] = []
        if raw["id"] != folder.name:
            found.append(
                doc.problem(("id",), f"lab id {raw['id']!r} must match its folder {folder.name!r}")
            )
        level = levels.get(raw["level"])
        if levels and level is None:
            found.append(doc.problem(("level",), f"unknown level {raw['level']!r}"))
        elif level is not None:
            for i, d in enumerate(raw["domains"]):
                if level.domain(d) is None:
                    found.append(
                        doc.problem(("domains", i), f"level {level.id!r} has no domain {d!r}")
                    )
        for folder_name in ("starter", "solution"):
            if not (folder / folder_name).is_dir():
                found.append(doc.problem(("id",), f"the lab has no {folder_name}/ folder"))
        for key in ("setup", "solve"):
            if raw.get(key):
                module = raw[key].split(":")[0]
                if not (folder / module).is_file():
                    found.append(doc.problem((key,), f"{module} does not exist in the lab folder"))
        task_ids: set[str] = set()
        check_ids: set[str] = set()
        tasks = []
        for t, task in enumerate(raw["tasks"]):
            if task["id"] in task_ids:
                found.append(doc.problem(("tasks", t, "id"), f"duplicate task id {task['id']!r}"))
            task_ids.add(task["id"])
            checks = []
            for c, check in enumerate(task["checks"]):
                where = ("tasks", t, "checks", c)
                if check["id"] in check_ids:
                    found.append(doc.problem((*where, "id"), f"duplicate check id {check['id']!r}"))
                check_ids.add(check["id"])
                for message in check_expectation(check["expect"]):
                    found.append(doc.problem((*where, "expect"), message))
                for key in ("function", "reference", "data"):
                    ref = check["source"].get(key)
                    if isinstance(ref, str) and ":" in ref:
                        module = ref.split(":")[0]
                        if not (folder / module).is_file():
                            found.append(
                                doc.problem(
                                    (*where, "source", key),
                                    f"{module} does not exist in the lab folder",
                                )
                            )
                checks.append(
                    Check(
                        id=check["id"],
                        title=check["title"],
                        points=float(check["points"]),
                        source=check["source"],
                        expect=check["expect"],
                        message=check["message"],
                        required=check.get("required", True),
                        partial=check.get("partial", False),
                        needs=tuple(check.get("needs", ())),
                        task=task["id"],
                    )
                )
            tasks.append(
                Task(
                    task["id"],
                    task["title"],
                    task["instructions"],
                    tuple(task["hints"]),
                    tuple(checks),
                )
            )
        problems += found
        if found:
            continue
        labs[raw["id"]] = Lab(
            id=raw["id"],
            title=raw["title"],
            level=raw["level"],
            domains=tuple(raw["domains"]),
            minutes=raw["minutes"],
            summary=raw["summary"],
            tasks=tuple(tasks),
            folder=folder,
            content_hash=_tree_hash(folder),
            requires=tuple(raw.get("requires", ())),
            seed=raw.get("seed", 0),
            setup=raw.get("setup", ""),
            solve=raw.get("solve", ""),
            file=display,
        )
    return labs, problems
