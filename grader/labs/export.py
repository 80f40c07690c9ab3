"""Exports of lab results: CSV and JSON for people, JUnit XML and Gradescope JSON for systems."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from xml.etree import ElementTree as ET

FORMATS = ("csv", "json", "junit", "gradescope")


def to_csv(rows: list[dict[str, Any]]) -> str:
    """One line per check of each learner's latest run of each lab."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "learner",
            "lab",
            "task",
            "check",
            "status",
            "required",
            "points",
            "max_points",
            "lab_score",
            "lab_max_score",
            "lab_passed",
            "message",
        ]
    )
    for run in rows:
        for c in run["checks"]:
            writer.writerow(
                [
                    run["learner"],
                    run["lab"],
                    c["task"],
                    c["id"],
                    c["status"],
                    c["required"],
                    c["points"],
                    c["max_points"],
                    run["score"],
                    run["max_score"],
                    run["passed"],
                    c["message"],
                ]
            )
    return out.getvalue()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps({"results": rows}, indent=2, ensure_ascii=False)


def to_junit(rows: list[dict[str, Any]]) -> str:
    """A testsuite per learner and lab, a testcase per check; not-gradable checks are skipped."""
    suites = ET.Element("testsuites", name="certlab")
    for run in rows:
        checks = run["checks"]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=f"{run['learner']}.{run['lab']}",
            tests=str(len(checks)),
            failures=str(sum(c["status"] == "failed" for c in checks)),
            skipped=str(sum(c["status"] in ("not_gradable", "skipped") for c in checks)),
            time=f"{sum(c['seconds'] for c in checks):.3f}",
        )
        for c in checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{run['lab']}.{c['task']}",
                name=c["id"],
                time=f"{c['seconds']:.3f}",
            )
            if c["status"] == "failed":
                ET.SubElement(case, "failure", message=c["message"][:200]).text = c["message"]
            elif c["status"] in ("not_gradable", "skipped"):
                ET.SubElement(case, "skipped", message=c["message"][:200])
    return ET.tostring(suites, encoding="unicode", xml_declaration=True)


def to_gradescope(rows: list[dict[str, Any]]) -> str:
    """Gradescope's results.json shape: a total and one test per check."""
    tests = []
    for run in rows:
        for c in run["checks"]:
            tests.append(
                {
                    "name": f"{run['lab']}: {c['task']}/{c['id']}",
                    "score": c["points"],
                    "max_score": c["max_points"],
                    "status": "passed" if c["passed"] else "failed",
                    "output": c["message"],
                    "tags": [run["learner"], run["lab"]],
                }
            )
    return json.dumps(
        {
            "score": round(sum(r["score"] for r in rows), 2),
            "max_score": round(sum(r["max_score"] for r in rows), 2),
            "tests": tests,
        },
        indent=2,
        ensure_ascii=False,
    )


def export(rows: list[dict[str, Any]], fmt: str) -> str:
    """Render ``rows`` in one of :data:`FORMATS`."""
    return {"csv": to_csv, "json": to_json, "junit": to_junit, "gradescope": to_gradescope}[fmt](
        rows
    )
