"""``certlab content validate|stats``."""

from __future__ import annotations

import argparse
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import emit_json, say, table


def register(sub: Any) -> None:
    """Add the content commands."""
    content = sub.add_parser("content", help="validate the content and count the bank")
    csub = content.add_subparsers(dest="content_command", metavar="ACTION", required=True)
    p = csub.add_parser("validate", help="check every content file; exit 3 when invalid")
    p.add_argument("--json", action="store_true")
    p.add_argument("--root", help="content root to check (default: the installed content)")
    p.set_defaults(run=cmd_validate)
    p = csub.add_parser("stats", help="counts per level, domain, kind and difficulty")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_stats)


def cmd_validate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from grader.content import load_content

    content = load_content(Path(args.root) if args.root else None)
    errors = content.errors
    if args.json:
        emit_json(
            {
                "valid": not errors,
                "root": str(content.root),
                "counts": {
                    "levels": len(content.levels),
                    "exams": len(content.forms),
                    "questions": len(content.questions),
                },
                "problems": [p.to_dict() for p in content.problems],
            }
        )
    else:
        for problem in content.problems:
            say(f"{problem.severity}: {problem}")
        if errors:
            say(f"{len(errors)} error(s) in {len({p.file for p in errors})} file(s).")
        else:
            say(
                f"Content is valid: {len(content.levels)} levels, {len(content.forms)} exams, "
                f"{len(content.questions)} questions."
            )
    return Exit.CONTENT_INVALID if errors else Exit.OK


def cmd_stats(args: argparse.Namespace) -> int:
    from grader.content import load_content
    from grader.content.stats import bank_stats

    content = load_content()
    stats = bank_stats(content)
    if args.json:
        emit_json(stats)
        return Exit.CONTENT_INVALID if content.errors else Exit.OK
    for level_id, s in stats["levels"].items():
        say(
            f"{s['title']} ({level_id}): {s['questions']} questions "
            f"({s['hand_written']} hand-written, {s['parametric']} parametric, "
            f"{s['case_studies']} case studies) — {s['forms']} full distinct form(s) "
            f"of '{s['exam']}'"
        )
        rows = [[d, str(n), str(s["allocation"].get(d, 0))] for d, n in s["domains"].items()]
        say(table(rows, ["DOMAIN", "QUESTIONS", "PER FORM"]))
        kinds = ", ".join(f"{k} {v}" for k, v in s["kinds"].items())
        diffs = ", ".join(f"{k}: {v}" for k, v in s["difficulty"].items())
        say(f"kinds: {kinds}\ndifficulty: {diffs}\n")
    return Exit.CONTENT_INVALID if content.errors else Exit.OK
