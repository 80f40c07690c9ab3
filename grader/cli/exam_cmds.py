"""``certlab exam ...``, ``certlab practice``, ``certlab drill`` and ``certlab history``."""

from __future__ import annotations

import argparse
import time
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import CliError, emit_json, say, table, warn


def register(sub: Any) -> None:
    """Add the exam commands to the subparsers ``sub``."""
    exam = sub.add_parser("exam", help="list, start, resume and show timed exams")
    esub = exam.add_subparsers(dest="exam_command", metavar="ACTION", required=True)

    p = esub.add_parser("list", help="the exam forms")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)

    p = esub.add_parser("start", help="start an exam (opens the app unless --json)")
    p.add_argument("form", help="exam form id (see 'certlab exam list')")
    p.add_argument("--seed", type=int, help="fix the form: the same seed gives the same exam")
    p.add_argument("--practice", action="store_true", help="untimed, with immediate feedback")
    p.add_argument("--json", action="store_true", help="create the attempt and print it")
    p.set_defaults(run=cmd_start)

    p = esub.add_parser("resume", help="reopen an open attempt (the latest by default)")
    p.add_argument("attempt", nargs="?", type=int)
    p.add_argument("--json", action="store_true", help="print its state instead of opening")
    p.set_defaults(run=cmd_resume)

    p = esub.add_parser("show", help="the result and review of an attempt")
    p.add_argument("attempt", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_show)

    p = esub.add_parser("answer", help="answer a question of an open attempt (for scripts)")
    p.add_argument("attempt", type=int)
    p.add_argument("position", type=int, help="question number, from 1")
    p.add_argument("response", help='option number(s) as shown: "2", "1,3", "3,1,4,2"; or a number')
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_answer)

    p = esub.add_parser("submit", help="submit an open attempt")
    p.add_argument("attempt", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_submit)

    for name, helptext in (
        ("practice", "practise a level with immediate feedback"),
        ("drill", "drill one domain, or only what you missed"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("level")
        p.add_argument("--count", type=int, default=10, help="questions (default 10)")
        p.add_argument("--seed", type=int)
        if name == "drill":
            group = p.add_mutually_exclusive_group(required=True)
            group.add_argument("--domain", help="one domain of the level")
            group.add_argument("--missed", action="store_true", help="only questions you got wrong")
        p.add_argument("--json", action="store_true", help="create the attempt and print it")
        p.set_defaults(run=cmd_practice, mode=name)

    p = sub.add_parser("history", help="your attempts, newest first")
    p.add_argument("--all", action="store_true", help="every learner's attempts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_history)


# --- helpers ------------------------------------------------------------------------------


def load(args: argparse.Namespace) -> Any:
    """Content for a command: errors in some files are warned about, not fatal."""
    from grader.content import load_content

    content = require_tracks(load_content())
    if content.errors:
        warn(f"content has {len(content.errors)} problem(s); run 'certlab content validate'")
    return content


def require_tracks(content: Any) -> Any:
    """Content whose tracks loaded; without them no exam can be drawn."""
    if not content.levels:
        where = next(
            (str(p) for p in content.errors if "tracks" in p.file), "scenarios/tracks.yaml"
        )
        raise CliError(
            f"content invalid: {where}; run 'certlab content validate'", Exit.CONTENT_INVALID
        )
    return content


def store() -> Any:
    """Open the progress database, turning failures into a clear message."""
    from grader.store.db import StoreError, open_store

    try:
        return open_store()
    except StoreError as exc:
        raise CliError(str(exc), Exit.FAILED) from exc


def session_json(session: Any) -> dict[str, Any]:
    """An open or submitted attempt as JSON."""
    return {
        "attempt": session.attempt_id,
        "title": session.title,
        "level": session.level,
        "mode": session.mode,
        "seed": session.seed,
        "status": "submitted" if session.submitted else "open",
        "deadline": session.deadline,
        "remaining_seconds": None if session.remaining() is None else round(session.remaining(), 1),
        "current": session.current + 1,
        **session.counts(),
    }


def _open_session(db: Any, attempt_id: int) -> Any:
    from grader.exams.session import Session, SessionError

    try:
        return Session.resume(db, attempt_id)
    except SessionError as exc:
        raise CliError(str(exc)) from exc


# --- commands -----------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    from grader.content import load_content

    content = require_tracks(load_content(questions=False, labs=False))
    forms = [
        {
            "id": f.id,
            "title": f.title,
            "level": f.level,
            "minutes": f.minutes,
            "questions": f.questions,
            "pass_mark": f.pass_mark,
        }
        for f in sorted(
            content.forms.values(), key=lambda f: (content.levels[f.level].rank, -f.questions)
        )
    ]
    if args.json:
        emit_json(forms)
    else:
        rows = [
            [
                f["id"],
                f["level"],
                str(f["questions"]),
                f"{f['minutes']} min",
                f"{f['pass_mark']:g}%",
                f["title"],
            ]
            for f in forms
        ]
        say(table(rows, ["ID", "LEVEL", "QUESTIONS", "TIME", "PASS", "TITLE"]))
    return Exit.OK


def cmd_start(args: argparse.Namespace) -> int:
    from grader.cli import open_tui, settings_from
    from grader.exams.session import Session, SessionError

    content = load(args)
    try:
        form = content.form(args.form)
    except KeyError as exc:
        raise CliError(f"{exc.args[0]}; see 'certlab exam list'") from exc
    settings = settings_from(args)
    with store() as db:
        try:
            session = Session.start(
                db,
                content,
                settings.learner,
                form=form,
                seed=args.seed,
                mode="practice" if args.practice else "exam",
                minutes=0 if args.practice else None,
            )
        except SessionError as exc:
            raise CliError(str(exc), Exit.CONTENT_INVALID) from exc
        if args.json:
            emit_json(session_json(session))
            return Exit.OK
        attempt_id = session.attempt_id
    return open_tui(args, attempt=attempt_id)


def cmd_practice(args: argparse.Namespace) -> int:
    from grader.cli import open_tui, settings_from
    from grader.exams.session import Session, SessionError, missed_question_ids

    content = load(args)
    if args.level not in content.levels:
        raise CliError(f"unknown level {args.level!r}; levels: {', '.join(content.levels)}")
    domain = getattr(args, "domain", None)
    if domain and content.levels[args.level].domain(domain) is None:
        names = ", ".join(d.id for d in content.levels[args.level].domains)
        raise CliError(f"level {args.level!r} has no domain {domain!r}; domains: {names}")
    settings = settings_from(args)
    with store() as db:
        only = None
        if getattr(args, "missed", False):
            only = missed_question_ids(db, settings.learner, args.level)
            if not only:
                raise CliError(
                    "nothing missed at this level yet: sit an exam or practise first", Exit.FAILED
                )
        try:
            session = Session.start(
                db,
                content,
                settings.learner,
                level=args.level,
                count=args.count,
                mode="drill" if args.mode == "drill" else "practice",
                domain=domain,
                only=only,
                seed=args.seed,
            )
        except SessionError as exc:
            raise CliError(str(exc), Exit.FAILED) from exc
        if args.json:
            emit_json(session_json(session))
            return Exit.OK
        attempt_id = session.attempt_id
    return open_tui(args, attempt=attempt_id)


def cmd_resume(args: argparse.Namespace) -> int:
    from grader.cli import open_tui, settings_from
    from grader.exams.session import open_attempt_ids

    settings = settings_from(args)
    with store() as db:
        attempt_id = args.attempt
        if attempt_id is None:
            open_ids = open_attempt_ids(db, settings.learner)
            if not open_ids:
                raise CliError(f"no open attempt for {settings.learner}", Exit.FAILED)
            attempt_id = open_ids[0]
        session = _open_session(db, attempt_id)
        if args.json or session.submitted:
            if session.submitted and not args.json:
                say(f"Attempt {attempt_id} is submitted; see 'certlab exam show {attempt_id}'.")
                return Exit.OK
            emit_json(session_json(session))
            return Exit.OK
    return open_tui(args, attempt=attempt_id)


def _parse_response(session: Any, position: int, text: str) -> Any:
    item = session.items[position].presented
    if item.kind == "numeric":
        return text
    try:
        numbers = [int(x) for x in text.replace(" ", ",").split(",") if x]
    except ValueError:
        raise CliError(f"give option numbers such as 2 or 1,3, not {text!r}") from None
    order = item.option_order
    if not all(1 <= n <= len(order) for n in numbers):
        raise CliError(f"option numbers run from 1 to {len(order)}")
    ids = [order[n - 1] for n in numbers]
    return ids[0] if item.kind == "single" and len(ids) == 1 else ids


def cmd_answer(args: argparse.Namespace) -> int:
    from grader.exams.scoring import InvalidResponse, describe_key
    from grader.exams.session import SessionError

    with store() as db:
        session = _open_session(db, args.attempt)
        position = args.position - 1
        if not 0 <= position < len(session.items):
            raise CliError(f"attempt {args.attempt} has questions 1 to {len(session.items)}")
        try:
            session.move(position)
            feedback = session.answer(position, _parse_response(session, position, args.response))
        except (InvalidResponse, SessionError) as exc:
            raise CliError(str(exc)) from exc
        out: dict[str, Any] = {"attempt": args.attempt, "position": args.position, "saved": True}
        if feedback is not None:
            out.update(correct=feedback.correct, key=describe_key(feedback.item.presented))
        if args.json:
            emit_json(out)
        elif feedback is not None:
            say(("Correct. " if feedback.correct else "Not quite. ") + f"Answer: {out['key']}")
        else:
            say(f"Saved answer to question {args.position}.")
    return Exit.OK


def cmd_submit(args: argparse.Namespace) -> int:
    with store() as db:
        session = _open_session(db, args.attempt)
        result = session.submit()
    return _print_result(result, args.json)


def cmd_show(args: argparse.Namespace) -> int:
    from grader.exams.review import review_lines

    with store() as db:
        session = _open_session(db, args.attempt)
        if not session.submitted:
            raise CliError(f"attempt {args.attempt} is still open: submit it first, or resume it")
        result = session.result()
        if args.json:
            data = result.to_json()
            data["items"] = [
                {
                    "position": i.position + 1,
                    "question_id": i.presented.question_id,
                    "domain": i.presented.domain,
                    "response": i.response,
                    "correct": bool(i.correct),
                    "flagged": i.flagged,
                    "seconds": round(i.time_spent, 1),
                    "content_hash": i.presented.content_hash,
                }
                for i in session.items
            ]
            emit_json(data)
            return Exit.OK if result.passed else Exit.FAILED
        _print_result(result, False)
        say()
        for line in review_lines(session):
            say(line)
    return Exit.OK if result.passed else Exit.FAILED


def _print_result(result: Any, as_json: bool) -> int:
    if as_json:
        emit_json(result.to_json())
    else:
        verdict = "PASS" if result.passed else "FAIL"
        say(
            f"{result.title}: {result.score:.1f}% ({result.correct}/{result.total}) — {verdict} "
            f"(pass mark {result.pass_mark:g}%)"
            + (" — submitted at time-out" if result.auto_submitted else "")
        )
        rows = [[d.domain, f"{d.correct}/{d.total}", f"{d.percent:.0f}%"] for d in result.domains]
        say(table(rows, ["DOMAIN", "RIGHT", "SCORE"]))
        say(result.note)
    return Exit.OK if result.passed else Exit.FAILED


def cmd_history(args: argparse.Namespace) -> int:
    from grader.cli import settings_from
    from grader.exams.history import attempts

    settings = settings_from(args)
    with store() as db:
        found = attempts(db, None if args.all else settings.learner)
    if args.json:
        emit_json([a.to_json() for a in found])
        return Exit.OK
    if not found:
        say("No attempts yet. Start one with 'certlab exam start foundation' or open 'certlab'.")
        return Exit.OK
    rows = [
        [
            str(a.id),
            time.strftime("%Y-%m-%d %H:%M", time.localtime(a.started_at)),
            a.title,
            a.mode,
            a.status,
            "" if a.score is None else f"{a.score:.1f}%",
            "" if a.passed is None else ("pass" if a.passed else "fail"),
        ]
        + ([a.learner] if args.all else [])
        for a in found
    ]
    say(
        table(
            rows,
            ["ID", "STARTED", "TITLE", "MODE", "STATUS", "SCORE", "RESULT"]
            + (["LEARNER"] if args.all else []),
        )
    )
    return Exit.OK
