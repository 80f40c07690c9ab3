"""``certlab progress`` and ``certlab cards``: the dashboard and the review queue."""

from __future__ import annotations

import argparse
import time
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import emit_json, say, table


def register(sub: Any) -> None:
    """Add the progress commands."""
    p = sub.add_parser("progress", help="readiness, mastery, labs and the next step per level")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_progress)
    p = sub.add_parser("cards", help="spaced-repetition cards of missed and flagged questions")
    p.add_argument("--due", action="store_true", help="only cards due now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_cards)


def _bar(percent: float | None, width: int = 20) -> str:
    if percent is None:
        return "·" * width
    filled = round(width * percent / 100)
    return "█" * filled + "░" * (width - filled)


def cmd_progress(args: argparse.Namespace) -> int:
    from grader.cli import settings_from
    from grader.cli.exam_cmds import load, store
    from grader.progress.dashboard import level_progress

    content = load(args)
    learner = settings_from(args).learner
    with store() as db:
        levels = level_progress(db, content, learner)
    if args.json:
        emit_json({"learner": learner, "levels": [p.to_json() for p in levels]})
        return Exit.OK
    for p in levels:
        ready = "not yet measured" if p.readiness is None else f"{p.readiness:.0f}%"
        trend = "" if p.trend is None else f" ({p.trend:+.0f} since the previous exam)"
        done = " — COMPLETE" if p.complete else ""
        say(f"{p.title}{done}")
        say(
            f"  readiness {ready}{trend}; exam {'passed' if p.exam_passed else 'not passed'}; "
            f"labs {p.labs_passed}/{p.labs_total}; reviews due {p.reviews_due}"
        )
        if p.scores:
            say("  scores   " + " ".join(f"{s:.0f}" for s in p.scores[-10:]))
        for d in p.domains:
            pct = "   –" if d.percent is None else f"{d.percent:3.0f}%"
            say(f"  {_bar(d.percent)} {pct} {d.title} ({d.answered} answered)")
        if p.seconds_per_question is not None and p.pace_seconds:
            say(
                f"  pace     {p.seconds_per_question:.0f} s a question against "
                f"{p.pace_seconds:.0f} s allowed"
            )
        if p.leeches:
            say(f"  leeches  {', '.join(p.leeches)} — read up on these rather than drilling")
        say(f"  next     {p.next_step}\n")
    return Exit.OK


def cmd_cards(args: argparse.Namespace) -> int:
    from grader.cli import settings_from
    from grader.cli.exam_cmds import store
    from grader.progress.cards import cards

    with store() as db:
        found = cards(db, settings_from(args).learner, due_only=args.due)
    if args.json:
        emit_json([c.to_json() for c in found])
        return Exit.OK
    if not found:
        say("No cards yet: questions you miss or flag in exams become cards.")
        return Exit.OK
    now = time.time()
    rows = [
        [
            c.question_id,
            c.level,
            c.domain,
            "due now" if c.due <= now else time.strftime("%Y-%m-%d %H:%M", time.localtime(c.due)),
            str(c.lapses),
            "leech" if c.leech else "",
        ]
        for c in found
    ]
    say(table(rows, ["QUESTION", "LEVEL", "DOMAIN", "DUE", "LAPSES", ""]))
    return Exit.OK
