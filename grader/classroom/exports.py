"""Class exports as CSV: roster, heatmap, items and reports, one file each."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass
from pathlib import Path

from grader.classroom.items import ItemStats
from grader.classroom.registry import ClassRecord
from grader.classroom.roster import Heatmap, RosterRow
from grader.exams.reports import QuestionReport


@dataclass(frozen=True)
class ClassData:
    """Everything the instructor's exports show about one class."""

    record: ClassRecord
    roster: list[RosterRow]
    heatmap: Heatmap
    items: list[ItemStats]
    reports: list[QuestionReport]
    generated_at: float


def gather(store, record: ClassRecord) -> ClassData:  # type: ignore[no-untyped-def]
    """Read the class's roster, heatmap, item analysis and reports from ``store``."""
    from grader.classroom.roster import class_reports, heatmap, item_analysis, roster

    return ClassData(
        record,
        roster(store, record),
        heatmap(store, record),
        item_analysis(store, record),
        class_reports(store, record),
        time.time(),
    )


def _fmt(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _stamp(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))


def roster_csv(data: ClassData) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    labs = list(data.record.labs)
    w.writerow(
        [
            "learner",
            "status",
            "score",
            "passed",
            "answered",
            "total",
            "minutes",
            "labs_passed",
            "labs_total",
            "source",
            *[f"lab:{lab}" for lab in labs],
        ]
    )
    for r in data.roster:
        cells = {c.lab: c for c in r.labs}
        w.writerow(
            [
                r.learner,
                r.status,
                _fmt(r.score, 1),
                "" if r.passed is None else ("yes" if r.passed else "no"),
                r.answered,
                r.total,
                _fmt(r.minutes, 1),
                r.labs_passed,
                len(r.labs),
                r.source or "",
                *[
                    cells[lab].state
                    + (
                        f" {cells[lab].score:g}/{cells[lab].max_score:g}"
                        if cells[lab].score is not None
                        else ""
                    )
                    for lab in labs
                ],
            ]
        )
    return out.getvalue()


def heatmap_csv(data: ClassData) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    hm = data.heatmap
    w.writerow(["learner", *hm.domains])
    for name, cells in hm.rows:
        w.writerow([name, *[_fmt(hm.percent(cells.get(d)), 1) for d in hm.domains]])
    w.writerow(["(class)", *[_fmt(hm.percent(hm.class_row.get(d)), 1) for d in hm.domains]])
    return out.getvalue()


def items_csv(data: ClassData) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(
        [
            "position",
            "question_id",
            "domain",
            "kind",
            "n",
            "facility",
            "discrimination",
            "upper_lower",
            "blank_share",
            "options",
            "flags",
        ]
    )
    for s in data.items:
        options = "; ".join(f"{o.id}{'*' if o.key else ''}={o.share:.3f}" for o in s.options)
        w.writerow(
            [
                s.position + 1,
                s.question_id,
                s.domain,
                s.kind,
                s.n,
                _fmt(s.facility),
                _fmt(s.discrimination),
                _fmt(s.upper_lower),
                _fmt(s.blank_share),
                options,
                " ".join(s.flags),
            ]
        )
    return out.getvalue()


def reports_csv(data: ClassData) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["created_at", "learner", "question_id", "content_hash", "note"])
    for r in data.reports:
        w.writerow([_stamp(r.created_at), r.learner, r.question_id, r.content_hash, r.note])
    return out.getvalue()


def write_csv(data: ClassData, folder: Path) -> list[Path]:
    """Write roster.csv, heatmap.csv, items.csv and reports.csv into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, render in (
        ("roster", roster_csv),
        ("heatmap", heatmap_csv),
        ("items", items_csv),
        ("reports", reports_csv),
    ):
        path = folder / f"{name}.csv"
        path.write_text(render(data), encoding="utf-8", newline="")
        written.append(path)
    return written
