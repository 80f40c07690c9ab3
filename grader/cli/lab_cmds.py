"""``certlab lab list|start|check|hint|reset|solve|status`` and ``certlab export results``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import CliError, emit_json, say, table, warn


def register(sub: Any) -> None:
    """Add the lab and export commands."""
    lab = sub.add_parser("lab", help="hands-on labs: start, check, hint, reset")
    lsub = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    p = lsub.add_parser("list", help="every lab with your status and score")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)
    for name, helptext in (
        ("start", "create the workspace: starter files and seeded data"),
        ("check", "grade the workspace; exit 0 when every required check passes"),
        ("hint", "show the next hint (hints used are recorded)"),
        ("reset", "restore the workspace to the starter files, in place"),
        ("solve", "apply the reference solution (for authors, instructors and tests)"),
        ("status", "where you stand on a lab"),
    ):
        p = lsub.add_parser(name, help=helptext)
        p.add_argument("lab", help="lab id (see 'certlab lab list')")
        p.add_argument("--json", action="store_true")
        if name == "check":
            p.add_argument("--task", help="check one task only")
            p.add_argument(
                "--offline",
                action="store_true",
                help="grade the workspace alone (manifests), even with a cluster up",
            )
            p.add_argument(
                "--evidence",
                action="store_true",
                help="include the raw evidence (instructors: it can reveal hidden data)",
            )
        if name == "hint":
            p.add_argument("--task", help="a task (default: the first unfinished one)")
        p.set_defaults(run=globals()[f"cmd_{name}"])

    export = sub.add_parser("export", help="export results for people and other systems")
    esub = export.add_subparsers(dest="export_command", metavar="WHAT", required=True)
    p = esub.add_parser("results", help="lab results: csv, json, junit or gradescope")
    p.add_argument("--format", choices=("csv", "json", "junit", "gradescope"), default="json")
    p.add_argument("--learner", dest="only_learner", help="one learner (default: everyone)")
    p.add_argument("--output", "-o", help="write to this file instead of stdout")
    p.set_defaults(run=cmd_export)


def _lab(args: argparse.Namespace) -> tuple[Any, Any]:
    from grader.content import load_content

    content = load_content()
    try:
        return content, content.lab(args.lab)
    except KeyError as exc:
        raise CliError(f"{exc.args[0]}; see 'certlab lab list'") from exc


def _learner(args: argparse.Namespace) -> str:
    from grader.cli import settings_from

    return settings_from(args).learner


def cmd_list(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.content import load_content
    from grader.labs.records import lab_status

    content = load_content(questions=False)
    learner = _learner(args)
    labs = sorted(content.labs.values(), key=lambda lab: (content.levels[lab.level].rank, lab.id))
    with store() as db:
        statuses = {lab.id: lab_status(db, lab, learner) for lab in labs}
    rows = [
        {
            "id": lab.id,
            "title": lab.title,
            "level": lab.level,
            "domains": list(lab.domains),
            "minutes": lab.minutes,
            "requires": list(lab.requires),
            "tasks": len(lab.tasks),
            "checks": len(lab.checks),
            "max_score": lab.max_score,
            "status": statuses[lab.id].state,
            "best": statuses[lab.id].best,
        }
        for lab in labs
    ]
    if args.json:
        emit_json(rows)
    else:
        say(
            table(
                [
                    [
                        r["id"],
                        r["level"],
                        f"{r['minutes']} min",
                        ",".join(r["requires"]) or "-",
                        r["status"],
                        "" if r["best"] is None else f"{r['best']:g}/{r['max_score']:g}",
                        r["title"],
                    ]
                    for r in rows
                ],
                ["ID", "LEVEL", "TIME", "NEEDS", "STATUS", "BEST", "TITLE"],
            )
        )
    return Exit.OK


def cmd_start(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.labs.workspace import LabError, start

    _, lab = _lab(args)
    with store() as db:
        try:
            row, created = start(db, lab, _learner(args))
        except LabError as exc:
            raise CliError(str(exc), Exit.FAILED) from exc
    if args.json:
        emit_json({"lab": lab.id, "workspace": row["workspace"], "created": created})
    else:
        say(("Started" if created else "Already started") + f" {lab.title}.")
        say(f"Your workspace: {row['workspace']}")
        say(
            f"Read the tasks with 'certlab lab status {lab.id}' or in the app; "
            f"grade with 'certlab lab check {lab.id}'."
        )
    return Exit.OK


def cmd_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from grader.cli.exam_cmds import store
    from grader.labs.records import record_run
    from grader.labs.runner import grading_capabilities, run_checks
    from grader.labs.workspace import LabError, require_started

    _, lab = _lab(args)
    if args.task:
        try:
            lab.task(args.task)
        except KeyError as exc:
            raise CliError(exc.args[0]) from exc
    with store() as db:
        try:
            row = require_started(db, lab, _learner(args))
        except LabError as exc:
            raise CliError(str(exc)) from exc

        def progress(done: int, total: int, result: Any) -> None:
            if not args.json and sys.stderr.isatty():
                sys.stderr.write(f"\r  checking {done}/{total}…")
                sys.stderr.flush()

        capabilities, backend = grading_capabilities(offline=args.offline)
        run = run_checks(
            lab,
            Path(row["workspace"]),
            row["seed"],
            task=args.task,
            progress=progress,
            capabilities=capabilities,
            backend=backend,
        )
        if not args.json and sys.stderr.isatty():
            sys.stderr.write("\r" + " " * 30 + "\r")
        record_run(db, row["id"], run)
    if args.json:
        emit_json(run.to_json(evidence=args.evidence))
    else:
        marks = {"passed": "✓", "failed": "✗", "not_gradable": "–", "skipped": "·"}
        for r in run.results:
            say(
                f"{marks[r.status]} [{r.points:g}/{r.max_points:g}] {r.task_id}/{r.check_id}: "
                f"{r.message}"
            )
        say(
            f"\nScore {run.score:g}/{run.max_score:g} — "
            + ("every required check passes." if run.passed else "required checks still fail.")
        )
    return Exit.OK if run.passed else Exit.FAILED


def cmd_hint(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.labs.records import next_hint
    from grader.labs.workspace import LabError

    _, lab = _lab(args)
    with store() as db:
        try:
            hint = next_hint(db, lab, _learner(args), args.task)
        except (LabError, KeyError) as exc:
            raise CliError(str(exc.args[0] if isinstance(exc, KeyError) else exc)) from exc
    if args.json:
        emit_json(hint.to_json())
    else:
        say(f"Hint {hint.index + 1} of {hint.total} for task '{hint.task_id}':\n\n{hint.text}")
    return Exit.OK


def cmd_reset(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.labs.workspace import LabError, reset

    _, lab = _lab(args)
    with store() as db:
        try:
            row = reset(db, lab, _learner(args))
        except LabError as exc:
            raise CliError(str(exc), Exit.FAILED) from exc
    if args.json:
        emit_json({"lab": lab.id, "workspace": row["workspace"], "reset": True})
    else:
        say(f"Reset {row['workspace']} to the starter files and fresh data.")
    return Exit.OK


def cmd_solve(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.labs.workspace import LabError, solve

    _, lab = _lab(args)
    with store() as db:
        try:
            row = solve(db, lab, _learner(args))
        except LabError as exc:
            raise CliError(str(exc), Exit.FAILED) from exc
    if args.json:
        emit_json({"lab": lab.id, "workspace": row["workspace"], "solved": True})
    else:
        warn("applied the reference solution (for authors and instructors)")
        say(f"Solved {row['workspace']}; run 'certlab lab check {lab.id}'.")
    return Exit.OK


def cmd_status(args: argparse.Namespace) -> int:
    from grader.cli.exam_cmds import store
    from grader.labs.records import lab_status

    _, lab = _lab(args)
    with store() as db:
        status = lab_status(db, lab, _learner(args))
    if args.json:
        data = status.to_json()
        data["title"] = lab.title
        data["tasks"] = [
            {"id": t.id, "title": t.title, "checks": [c.id for c in t.checks]} for t in lab.tasks
        ]
        emit_json(data)
        return Exit.OK
    say(f"{lab.title} ({lab.id}) — {status.state}")
    if status.workspace:
        say(f"workspace: {status.workspace}")
    if status.runs:
        say(
            f"checked {status.runs} time(s); best {status.best:g}, latest {status.latest:g} "
            f"of {status.max_score:g}; hints used {status.hints}"
        )
    for task in lab.tasks:
        say(f"\n## {task.title}\n\n{task.instructions.strip()}")
    return Exit.OK


def cmd_export(args: argparse.Namespace) -> int:
    from pathlib import Path

    from grader.cli.exam_cmds import store
    from grader.labs.export import export
    from grader.labs.records import results_rows

    with store() as db:
        rows = results_rows(db, args.only_learner)
    text = export(rows, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        say(f"Wrote {len(rows)} lab result(s) to {args.output}.")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return Exit.OK
