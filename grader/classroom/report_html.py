"""The class report as one self-contained HTML file: inline CSS, no scripts, no external assets."""

from __future__ import annotations

import time
from html import escape
from pathlib import Path

from grader.classroom.classfile import from_timestamp
from grader.classroom.exports import ClassData
from grader.classroom.roster import Heatmap

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1d2329}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}
.meta{color:#58636e;margin:0 0 1rem}
table{border-collapse:collapse;margin:.25rem 0 1rem}
th,td{border:1px solid #d5dbe1;padding:.3rem .55rem;text-align:left;vertical-align:top}
th{background:#eef2f5}td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{color:#17663a;font-weight:600}.fail{color:#a3261b;font-weight:600}
.flag{display:inline-block;border-radius:3px;padding:0 .35rem;margin:0 .2rem .2rem 0;
 font-size:.8rem;background:#fde7c8;color:#6b3d00}.flag.suspect_key{background:#f8d0cc;color:#7a1a12}
.key{font-weight:700}.dead{color:#9aa3ab;text-decoration:line-through}
.note{color:#58636e;font-size:.85rem}.muted{color:#9aa3ab}
@media print{body{margin:0}}
"""


def _t(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return '<span class="muted">–</span>' if value is None else escape(fmt.format(value))


def _heat_colour(percent: float | None) -> str:
    if percent is None:
        return "#f4f6f8"
    # red (0%) → amber (50%) → green (100%), light enough for black text
    hue = round(1.2 * percent)
    return f"hsl({hue},70%,82%)"


def _roster(data: ClassData) -> str:
    labs = list(data.record.labs)
    head = "".join(
        f"<th>{escape(h)}</th>"
        for h in [
            "Learner",
            "Status",
            "Score",
            "Result",
            "Answered",
            "Minutes",
            "Labs passed",
            *labs,
        ]
    )
    rows = []
    for r in data.roster:
        result = ""
        if r.passed is not None:
            result = (
                '<span class="pass">pass</span>' if r.passed else '<span class="fail">fail</span>'
            )
        cells = {c.lab: c for c in r.labs}
        lab_cells = "".join(
            f"<td>{escape(cells[lab].state)}"
            + (
                f" <span class=note>{cells[lab].score:g}/{cells[lab].max_score:g}</span>"
                if cells[lab].score is not None
                else ""
            )
            + "</td>"
            for lab in labs
        )
        rows.append(
            f"<tr><td>{escape(r.learner)}</td><td>{escape(r.status)}</td>"
            f"<td class=num>{_num(r.score, '{:.1f}%')}</td><td>{result}</td>"
            f"<td class=num>{r.answered}/{r.total}</td>"
            f"<td class=num>{_num(r.minutes, '{:.1f}')}</td>"
            f"<td class=num>{r.labs_passed}/{len(r.labs)}</td>{lab_cells}</tr>"
        )
    body = "".join(rows) or f'<tr><td colspan="{7 + len(labs)}">Nobody yet.</td></tr>'
    return f'<table id="roster"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _heatmap(hm: Heatmap) -> str:
    head = "".join(f"<th>{escape(d)}</th>" for d in hm.domains)

    def cells(values: dict[str, tuple[int, int]]) -> str:
        out = []
        for d in hm.domains:
            p = hm.percent(values.get(d))
            c = values.get(d)
            title = f"{c[0]}/{c[1]}" if c else ""
            out.append(
                f'<td class=num style="background:{_heat_colour(p)}" title="{escape(title)}">'
                f"{_num(p, '{:.0f}%')}</td>"
            )
        return "".join(out)

    rows = [f"<tr><td>{escape(name)}</td>{cells(values)}</tr>" for name, values in hm.rows]
    rows.append(f"<tr><th>Class</th>{cells(hm.class_row)}</tr>")
    return (
        f'<table id="heatmap"><thead><tr><th>Learner</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _items(data: ClassData) -> str:
    rows = []
    for s in data.items:
        options = " ".join(
            f'<span class="{"key" if o.key else "dead" if o.dead else ""}" '
            f'title="{escape(o.text)}">{escape(o.id)} {o.share:.0%}</span>'
            for o in s.options
        )
        flags = "".join(f'<span class="flag {escape(f)}">{escape(f)}</span>' for f in s.flags)
        notes = "".join(f"<div class=note>{escape(n)}</div>" for n in s.notes)
        rows.append(
            f"<tr><td class=num>{s.position + 1}</td><td>{escape(s.question_id)}</td>"
            f"<td>{escape(s.domain)}</td><td>{escape(s.kind)}</td><td class=num>{s.n}</td>"
            f"<td class=num>{_num(s.facility)} <span class=note>{s.band}</span></td>"
            f"<td class=num>{_num(s.discrimination)}</td>"
            f"<td class=num>{_num(s.upper_lower)}</td><td>{options}</td>"
            f"<td>{flags}{notes}</td></tr>"
        )
    head = "".join(
        f"<th>{h}</th>"
        for h in [
            "#",
            "Question",
            "Domain",
            "Kind",
            "N",
            "Facility",
            "Discrimination",
            "Upper−lower",
            "Options (share choosing)",
            "Flags",
        ]
    )
    body = "".join(rows) or '<tr><td colspan="10">No submitted attempts yet.</td></tr>'
    return f'<table id="items"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _reports(data: ClassData) -> str:
    if not data.reports:
        return "<p class=note>No question reports.</p>"
    rows = "".join(
        f"<tr><td>{_t(r.created_at)}</td><td>{escape(r.learner)}</td>"
        f"<td>{escape(r.question_id)}</td><td>{escape(r.note)}</td></tr>"
        for r in data.reports
    )
    return (
        '<table id="reports"><thead><tr><th>When</th><th>Learner</th><th>Question</th>'
        f"<th>Note</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def render_html(data: ClassData) -> str:
    """The whole report as an HTML string."""
    rec = data.record
    opens = from_timestamp(rec.opens_at).strftime("%Y-%m-%d %H:%M UTC")
    closes = from_timestamp(rec.closes_at).strftime("%Y-%m-%d %H:%M UTC")
    submitted = [r for r in data.roster if r.score is not None]
    mean = sum(r.score or 0 for r in submitted) / len(submitted) if submitted else None
    passed = sum(1 for r in submitted if r.passed)
    summary = f"{len(data.roster)} learners, {len(submitted)} submitted" + (
        f", mean score {mean:.1f}%, {passed} passed" if mean is not None else ""
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(rec.name)} — certlab class report</title>
<style>{CSS}</style></head><body>
<h1>{escape(rec.name)}</h1>
<p class="meta">Class {escape(rec.id)} · exam {escape(rec.form_id)} ({escape(rec.level)}) · seed
{rec.seed} · open {escape(opens)} to {escape(closes)} · generated {_t(data.generated_at)}</p>
<p>{escape(summary)}.</p>
<h2>Roster</h2>{_roster(data)}
<h2>Domain heatmap (percent correct)</h2>{_heatmap(data.heatmap)}
<h2>Item analysis</h2>
<p class="note">Facility: share answering correctly (useful between 0.3 and 0.7).
Discrimination: point-biserial correlation with the rest-of-test score (0.25 or more is good;
negative: suspect key). Upper−lower: facility of the top 27% minus the bottom 27%. The key is
bold; a dead distractor (chosen by nobody) is struck through.</p>
{_items(data)}
<h2>Question reports</h2>{_reports(data)}
<p class="note">certlab reports raw percentages; real certification exams report scaled
scores, so the pass mark is a stand-in.</p>
</body></html>
"""


def write_html(data: ClassData, path: Path) -> Path:
    """Write the report to ``path``; returns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(data), encoding="utf-8")
    return path
