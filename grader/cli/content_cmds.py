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
    p = csub.add_parser("lint", help="hold the bank to the writing standard; exit 3 on errors")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_lint)
    p = csub.add_parser("reports", help="questions learners reported as wrong")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_reports)
    p = csub.add_parser("report", help="report a question you think is wrong")
    p.add_argument("question", help="question id (shown in the review)")
    p.add_argument("note", help="what is wrong")
    p.add_argument("--attempt", type=int, help="the attempt you saw it in")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_report)
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
            f"{s['case_studies']} case studies) — {s['forms']} full distinct form(s), "
            f"{s['forms_exact']:g} forms' worth, "
            f"of '{s['exam']}'"
        )
        rows = [[d, str(n), str(s["allocation"].get(d, 0))] for d, n in s["domains"].items()]
        say(table(rows, ["DOMAIN", "QUESTIONS", "PER FORM"]))
        kinds = ", ".join(f"{k} {v}" for k, v in s["kinds"].items())
        diffs = ", ".join(f"{k}: {v}" for k, v in s["difficulty"].items())
        say(f"kinds: {kinds}\ndifficulty: {diffs}\n")
    return Exit.CONTENT_INVALID if content.errors else Exit.OK


def cmd_lint(args: argparse.Namespace) -> int:
    from grader.content import load_content
    from grader.content.lint import lint, lint_json

    content = load_content()
    problems = content.errors + lint(content)
    if args.json:
        emit_json(lint_json(problems))
    else:
        for problem in problems:
            say(f"{problem.severity}: {problem}")
        errors = sum(p.severity == "error" for p in problems)
        say(f"{errors} finding(s)." if errors else "The bank meets the writing standard.")
    return Exit.CONTENT_INVALID if any(p.severity == "error" for p in problems) else Exit.OK


def cmd_reports(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.exams.reports import list_reports

    with store() as db:
        reports = list_reports(db)
    if args.json:
        emit_json([r.to_json() for r in reports])
        return Exit.OK
    if not reports:
        say("No question reports.")
        return Exit.OK
    rows = [[str(r.id), r.question_id, r.content_hash[:8], r.learner, r.note] for r in reports]
    say(table(rows, ["#", "QUESTION", "HASH", "LEARNER", "NOTE"]))
    return Exit.OK


def cmd_report(args: argparse.Namespace) -> int:
    from grader.cli import settings_from
    from grader.cli.exam_cmds import store
    from grader.cli.output import CliError
    from grader.content import load_content
    from grader.exams.reports import report_question

    content = load_content()
    question = content.questions.get(args.question)
    if question is None:
        raise CliError(f"unknown question {args.question!r}")
    if not args.note.strip():
        raise CliError("say what is wrong in the note")
    with store() as db:
        report_id = report_question(
            db,
            settings_from(args).learner,
            question.id,
            question.content_hash,
            args.note,
            args.attempt,
        )
    if args.json:
        emit_json(
            {"report": report_id, "question": question.id, "content_hash": question.content_hash}
        )
    else:
        say(f"Recorded report {report_id} on {question.id}. Thank you.")
    return Exit.OK
