"""``certlab class ...``: run a classroom; also registers ``certlab serve`` (serve_cmds).

Instructor: ``create``, ``issue``, ``list``, ``collect``, ``roster``, ``heatmap``, ``items``,
``reports``, ``export``, ``grade-labs``. Learner: ``join``, ``submit``.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import CliError, emit_json, say, table, warn


def register(sub: Any) -> None:
    """Add ``certlab class`` and ``certlab serve``."""
    from grader.cli import serve_cmds

    cls = sub.add_parser("class", help="run a classroom: create, join, submit, collect, view")
    csub = cls.add_subparsers(dest="class_command", metavar="ACTION", required=True)

    p = csub.add_parser("create", help="create a class and write its class file(s)")
    p.add_argument("name", help="the class's name, e.g. 'June cohort'")
    p.add_argument("--exam", required=True, help="exam form id (see 'certlab exam list')")
    p.add_argument("--level", help="check that the exam is of this level")
    p.add_argument("--opens", help="opening time, ISO-8601 with timezone (default: now)")
    p.add_argument("--closes", required=True, help="closing time, e.g. 2025-06-02T12:00+02:00")
    p.add_argument("--seed", type=int, help="the form's seed (default: random)")
    p.add_argument("--labs", nargs="*", default=[], metavar="LAB", help="lab ids for the class")
    p.add_argument(
        "--learner-keys",
        action="store_true",
        help="one class file per learner, each with its own key derived from your secret",
    )
    p.add_argument("--learners", nargs="*", default=[], metavar="NAME", help="the class's learners")
    p.add_argument("--out", help="class file (or folder, with --learner-keys) to write")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_create)

    p = csub.add_parser("issue", help="write class files again, or for more learners")
    p.add_argument("learners", nargs="*", metavar="NAME")
    _class_option(p)
    p.add_argument("--out", help="class file (or folder, for per-learner keys)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_issue)

    p = csub.add_parser("list", help="the classes in this database")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)

    p = csub.add_parser("join", help="join a class: start its exam (opens the app unless --json)")
    p.add_argument("file", help="the class file from your instructor")
    p.add_argument("--json", action="store_true", help="start the exam and print it")
    p.set_defaults(run=cmd_join)

    p = csub.add_parser("submit", help="write your signed result bundle for the instructor")
    _class_option(p)
    p.add_argument("--out", help="bundle file (default ./<class>-<learner>.bundle.json)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_submit)

    p = csub.add_parser("collect", help="verify and import learners' bundles")
    p.add_argument("path", help="a folder of *.bundle.json files (searched recursively), or one")
    _class_option(p, "accept bundles of this class only")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_collect)

    for name, helptext in (
        ("roster", "learners with exam score, result and labs passed"),
        ("heatmap", "percent correct per learner and domain"),
        ("items", "item analysis: facility, discrimination, options, flags"),
        ("reports", "learners' reports of questions they think are wrong"),
    ):
        p = csub.add_parser(name, help=helptext)
        _class_option(p)
        p.add_argument("--json", action="store_true")
        if name == "items":
            p.add_argument("--flagged", action="store_true", help="only items with a flag")
        p.set_defaults(run=globals()[f"cmd_{name}"])

    p = csub.add_parser("export", help="export the class as CSV files or one HTML report")
    _class_option(p)
    p.add_argument("--format", choices=("csv", "html"), required=True)
    p.add_argument("--out", help="folder (csv) or file (html) to write")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_export)

    p = csub.add_parser(
        "grade-labs", help="grade each learner's namespace on the classroom cluster"
    )
    _class_option(p)
    p.add_argument("--learners", nargs="*", default=[], metavar="NAME")
    p.add_argument("--workers", type=int, default=8, help="learners graded at once (default 8)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_grade_labs)

    p = csub.add_parser("view", help="the instructor's view in the app")
    _class_option(p)
    p.set_defaults(run=cmd_view)

    serve_cmds.register(sub)


def _class_option(p: argparse.ArgumentParser, helptext: str = "class id or name") -> None:
    p.add_argument(
        "--class", dest="class_ref", metavar="CLASS", help=helptext + " (default: newest)"
    )


# --- helpers ------------------------------------------------------------------------------


def _store() -> Any:
    from grader.cli.exam_cmds import store

    return store()


def _instructor_class(db: Any, ref: str | None) -> Any:
    from grader.classroom.registry import ClassNotFound, get_class

    try:
        return get_class(db, ref, role="instructor")
    except ClassNotFound as exc:
        raise CliError(f"{exc}; create one with 'certlab class create'") from exc


def _time(text: str | None, what: str) -> Any:
    from grader.classroom.classfile import ClassFileError, parse_time

    if text is None:
        return None
    try:
        return parse_time(text, what)
    except ClassFileError as exc:
        raise CliError(str(exc)) from exc


def _is_folder(out: str | None) -> bool:
    """Whether ``--out`` names a folder (an existing one, or one written with a trailing /)."""
    return bool(out) and (out.endswith(("/", os.sep)) or Path(out).is_dir())


def _stamp(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _write_files(
    record: Any, learners: list[str], out: str | None, db: Any, base: Any = None
) -> list[Path]:
    """Write the class file(s) for ``record`` (``base``: the class file as created, keeping
    its timezone); per-learner files go into a folder."""
    from grader.classroom.classfile import (
        ClassFileError,
        check_learner_name,
        slug,
        write_class_file,
    )
    from grader.classroom.registry import add_members

    try:
        for name in learners:
            check_learner_name(name)
    except ClassFileError as exc:
        raise CliError(str(exc)) from exc
    if record.key_scheme == "learner":
        if not learners:
            raise CliError("a class with per-learner keys needs the learners' names (--learners)")
        folder = Path(out) if out else Path(f"{slug(record.name)}-class-files")
        paths = [
            write_class_file(
                base.for_learner(record.key, name) if base else record.class_file(name),
                folder / f"{name}.class.json",
            )
            for name in learners
        ]
        add_members(db, record.id, learners, issued=True)
        return paths
    name = f"{slug(record.name)}.class.json"
    path = Path(out) / name if _is_folder(out) else Path(out or name)
    if learners:
        add_members(db, record.id, learners, issued=True)
    return [write_class_file(base or record.class_file(), path)]


# --- instructor ---------------------------------------------------------------------------


def cmd_create(args: argparse.Namespace) -> int:
    from grader.classroom.classfile import ClassFileError, new_class
    from grader.classroom.registry import ClassForm, learner_names, register_class
    from grader.cli.exam_cmds import load

    content = load(args)
    closes = _time(args.closes, "--closes")
    opens = _time(args.opens, "--opens")
    learners = learner_names(args.learners)
    if args.learner_keys and not learners:
        raise CliError("--learner-keys needs --learners NAME ... (one class file per learner)")
    try:
        cf, items = new_class(
            content,
            name=args.name,
            exam=args.exam,
            closes_at=closes,
            opens_at=opens,
            seed=args.seed,
            labs=args.labs,
            level=args.level,
        )
    except ClassFileError as exc:
        raise CliError(str(exc)) from exc
    form = content.form(cf.exam)
    snapshot = ClassForm(form.title, form.pass_mark, form.minutes, tuple(items))
    if cf.closes_ts <= time.time():
        warn("the class's closing time has passed: nobody can join it")
    window = (cf.closes_ts - cf.opens_ts) / 60
    if window < form.minutes:
        warn(
            f"the class is open {window:.0f} min, less than the exam's {form.minutes} min: "
            "attempts end at the closing time"
        )
    with _store() as db:
        record = register_class(
            db, cf, "instructor", form=snapshot, secret=cf.key if args.learner_keys else None
        )
        paths = _write_files(record, learners, args.out, db, cf)
    if args.json:
        emit_json(
            {
                "class": record.to_json(),
                "questions": len(items),
                "form_digest": cf.form_digest,
                "files": [str(p) for p in paths],
            }
        )
        return Exit.OK
    say(
        f"Created class {record.name!r} ({record.id}): "
        f"exam {record.form_id}, {len(items)} questions"
    )
    say(f"Open {cf.describe_time(cf.opens_ts)} to {cf.describe_time(cf.closes_ts)}")
    for p in paths:
        say(f"  wrote {p}")
    say("Learners run: certlab class join <class file>")
    if record.key_scheme == "class":
        say("Every learner's file holds the same key: see docs/classroom.md for what that means.")
    return Exit.OK


def cmd_issue(args: argparse.Namespace) -> int:
    from grader.classroom.registry import learner_names

    with _store() as db:
        record = _instructor_class(db, args.class_ref)
        paths = _write_files(record, learner_names(args.learners), args.out, db)
    if args.json:
        emit_json({"class": record.id, "files": [str(p) for p in paths]})
    else:
        for p in paths:
            say(f"wrote {p}")
    return Exit.OK


def cmd_list(args: argparse.Namespace) -> int:
    from grader.classroom.registry import list_classes, members

    with _store() as db:
        found = [(c, len(members(db, c.id))) for c in list_classes(db)]
    if args.json:
        emit_json([{**c.to_json(), "learners": n} for c, n in found])
        return Exit.OK
    if not found:
        say("No classes yet. Create one with 'certlab class create NAME --exam ID --closes TIME'.")
        return Exit.OK
    rows = [
        [c.id, c.name, c.role, c.form_id, _stamp(c.opens_at), _stamp(c.closes_at), str(n)]
        for c, n in found
    ]
    say(table(rows, ["ID", "NAME", "ROLE", "EXAM", "OPENS", "CLOSES", "LEARNERS"]))
    return Exit.OK


def cmd_collect(args: argparse.Namespace) -> int:
    from grader.classroom.collect import collect
    from grader.classroom.registry import ClassNotFound

    where = Path(args.path)
    if not where.exists():
        raise CliError(f"{where} does not exist")
    with _store() as db:
        try:
            outcomes = collect(db, where, class_ref=args.class_ref)
        except ClassNotFound as exc:
            raise CliError(str(exc)) from exc
    bad = [o for o in outcomes if o.kind in ("invalid", "foreign", "tampered")]
    if args.json:
        emit_json(
            {
                "imported": sum(o.imported for o in outcomes),
                "rejected": sum(not o.imported for o in outcomes),
                "bundles": [o.to_json() for o in outcomes],
            }
        )
    else:
        if not outcomes:
            say(f"No *.bundle.json files under {where}.")
        rows = [
            [
                Path(o.file).name,
                o.learner or "?",
                "imported" if o.imported else "REJECTED",
                "" if o.score is None else f"{o.score:.1f}%",
                "" if o.imported else o.reason,
            ]
            for o in outcomes
        ]
        if rows:
            say(table(rows, ["FILE", "LEARNER", "RESULT", "SCORE", "REASON"]))
            say(
                f"{sum(o.imported for o in outcomes)} imported, "
                f"{sum(not o.imported for o in outcomes)} rejected"
            )
    return Exit.FAILED if bad else Exit.OK


def _view(args: argparse.Namespace) -> tuple[Any, Any]:
    """The class and an open store (the caller closes it)."""
    db = _store()
    try:
        return db, _instructor_class(db, args.class_ref)
    except BaseException:
        db.close()
        raise


def cmd_roster(args: argparse.Namespace) -> int:
    from grader.classroom.roster import roster

    db, record = _view(args)
    with db:
        rows = roster(db, record)
    if args.json:
        emit_json({"class": record.to_json(), "learners": [r.to_json() for r in rows]})
        return Exit.OK
    say(f"{record.name} ({record.id}) — exam {record.form_id}")
    if not rows:
        say("Nobody has joined yet.")
        return Exit.OK
    out = []
    for r in rows:
        out.append(
            [
                r.learner,
                r.status,
                "" if r.score is None else f"{r.score:.1f}%",
                "" if r.passed is None else ("pass" if r.passed else "fail"),
                f"{r.answered}/{r.total}" if r.total else "",
                "" if r.minutes is None else f"{r.minutes:g}",
                f"{r.labs_passed}/{len(r.labs)}" if r.labs else "",
                r.source or "",
            ]
        )
    say(table(out, ["LEARNER", "STATUS", "SCORE", "RESULT", "ANSWERED", "MIN", "LABS", "FROM"]))
    return Exit.OK


SHADES = ((90, "█"), (70, "▓"), (50, "▒"), (0, "░"))


def _shade(percent: float | None) -> str:
    if percent is None:
        return "   ·"
    glyph = next(g for limit, g in SHADES if percent >= limit)
    return f"{glyph}{percent:4.0f}"


def cmd_heatmap(args: argparse.Namespace) -> int:
    from grader.classroom.roster import heatmap

    db, record = _view(args)
    with db:
        hm = heatmap(db, record)
    if args.json:
        emit_json({"class": record.id, **hm.to_json()})
        return Exit.OK
    if not hm.rows:
        say("No exam answers yet.")
        return Exit.OK
    rows = [[name, *[_shade(hm.percent(c.get(d))) for d in hm.domains]] for name, c in hm.rows]
    rows.append(["(class)", *[_shade(hm.percent(hm.class_row.get(d))) for d in hm.domains]])
    say(table(rows, ["LEARNER", *hm.domains]))
    say("percent correct: █ 90+  ▓ 70+  ▒ 50+  ░ below 50  · no questions")
    return Exit.OK


def cmd_items(args: argparse.Namespace) -> int:
    from grader.classroom.roster import item_analysis

    db, record = _view(args)
    with db:
        stats = item_analysis(db, record)
    if args.flagged:
        stats = [s for s in stats if s.flags]
    if args.json:
        emit_json({"class": record.id, "items": [s.to_json() for s in stats]})
        return Exit.OK
    if not stats or not stats[0].n:
        say("No submitted attempts yet." if not args.flagged else "No flagged items.")
        return Exit.OK

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.2f}"

    rows = [
        [
            str(s.position + 1),
            s.question_id,
            num(s.facility),
            s.band,
            num(s.discrimination),
            num(s.upper_lower),
            " ".join(f"{o.id}{'*' if o.key else ''}:{o.share:.0%}" for o in s.options),
            ",".join(s.flags),
        ]
        for s in stats
    ]
    say(
        table(
            rows, ["#", "QUESTION", "FACILITY", "BAND", "DISCRIM", "U-L", "OPTIONS (*key)", "FLAGS"]
        )
    )
    for s in stats:
        for note in s.notes:
            say(f"  {s.question_id}: {note}")
    return Exit.OK


def cmd_reports(args: argparse.Namespace) -> int:
    from grader.classroom.roster import class_reports

    db, record = _view(args)
    with db:
        found = class_reports(db, record)
    if args.json:
        emit_json({"class": record.id, "reports": [r.to_json() for r in found]})
        return Exit.OK
    if not found:
        say("No question reports from this class.")
        return Exit.OK
    rows = [[_stamp(r.created_at), r.learner, r.question_id, r.note] for r in found]
    say(table(rows, ["WHEN", "LEARNER", "QUESTION", "NOTE"]))
    return Exit.OK


def cmd_export(args: argparse.Namespace) -> int:
    from grader.classroom.classfile import slug
    from grader.classroom.exports import gather, write_csv
    from grader.classroom.report_html import write_html

    db, record = _view(args)
    with db:
        data = gather(db, record)
    if args.format == "csv":
        paths = write_csv(data, Path(args.out or f"{slug(record.name)}-export"))
    else:
        paths = [write_html(data, Path(args.out or f"{slug(record.name)}-report.html"))]
    if args.json:
        emit_json({"class": record.id, "format": args.format, "files": [str(p) for p in paths]})
    else:
        for p in paths:
            say(f"wrote {p}")
    return Exit.OK


def cmd_grade_labs(args: argparse.Namespace) -> int:
    from grader.classroom.grading import grade_labs, live_checks
    from grader.classroom.registry import learner_names, members
    from grader.cli.exam_cmds import load
    from grader.cluster import ClusterError

    content = load(args)
    db, record = _view(args)
    with db:
        if not record.labs:
            raise CliError(f"class {record.name!r} has no labs to grade")
        gradable = [
            lab for lab in record.labs if lab in content.labs and live_checks(content.labs[lab])
        ]
        if not gradable:
            raise CliError(
                "none of the class's labs has live-cluster checks; their results come in the "
                "learners' bundles ('certlab class collect')",
                Exit.FAILED,
            )
        learners = learner_names(args.learners) or members(db, record.id)
        if not learners:
            raise CliError("no learners in this class yet: name them with --learners")

        def progress(g: Any) -> None:
            if not args.json:
                verdict = g.error or ("passed" if g.run.passed else "failed")
                say(f"  {g.learner:<20} {g.lab:<28} {g.namespace:<40} {verdict}")

        try:
            graded = grade_labs(
                db, content, record, learners, workers=args.workers, progress=progress
            )
        except ClusterError as exc:
            raise CliError(str(exc), Exit.CLUSTER_UNREACHABLE) from exc
    if args.json:
        emit_json({"class": record.id, "graded": [g.to_json() for g in graded]})
    return Exit.OK if all(g.error is None for g in graded) else Exit.FAILED


def cmd_view(args: argparse.Namespace) -> int:
    """Open the instructor's screen through the ``instructor`` face (the engine never imports
    the TUI)."""
    import sys
    from importlib.metadata import entry_points

    from grader.cli import settings_from

    with _store() as db:
        _instructor_class(db, args.class_ref)
    found = [ep for ep in entry_points(group="certlab.faces") if ep.name == "instructor"]
    if not found:
        raise CliError(
            "the instructor view is not installed (entry point certlab.faces:instructor); use "
            "'certlab class roster|heatmap|items|reports' or 'certlab class export --format html'"
        )
    if not sys.stdout.isatty():
        raise CliError("the app needs a terminal; use the other class commands in scripts")
    return int(found[0].load()(settings_from(args), class_ref=args.class_ref) or 0)


# --- learner ------------------------------------------------------------------------------


def cmd_join(args: argparse.Namespace) -> int:
    from grader.classroom.classfile import ClassFileError, ClassWindowError, read_class_file
    from grader.classroom.join import class_learner, join_class
    from grader.cli import open_tui, settings_from
    from grader.cli.exam_cmds import load, session_json
    from grader.exams.session import SessionError

    try:
        cf = read_class_file(Path(args.file))
    except ClassFileError as exc:
        raise CliError(str(exc)) from exc
    content = load(args)
    settings = settings_from(args)
    with _store() as db:
        try:
            learner = class_learner(cf, settings.learner, explicit=args.learner is not None)
            joined = join_class(db, content, cf, learner)
        except ClassWindowError as exc:
            raise CliError(str(exc), Exit.FAILED) from exc
        except (ClassFileError, SessionError) as exc:
            raise CliError(str(exc), Exit.FAILED) from exc
        for lab in joined.missing_labs:
            warn(f"the class's lab {lab!r} is not in your content: update certlab")
        if args.json:
            emit_json(
                {
                    "class": joined.record.to_json(),
                    "learner": learner,
                    "created": joined.created,
                    **session_json(joined.session),
                }
            )
            return Exit.OK
        attempt_id = joined.session.attempt_id
        say(
            f"Joined {cf.name!r} as {learner}: {len(joined.session.items)} questions, closes "
            f"{cf.describe_time(cf.closes_ts)}. When done: certlab class submit"
        )
    args.learner = learner
    return open_tui(args, attempt=attempt_id)


def cmd_submit(args: argparse.Namespace) -> int:
    from grader.classroom.bundles import SUFFIX, build_bundle, write_bundle
    from grader.classroom.classfile import slug
    from grader.classroom.registry import ClassNotFound, class_attempt_ids, get_class
    from grader.cli import settings_from
    from grader.exams.session import Session

    settings = settings_from(args)
    with _store() as db:
        try:
            record = get_class(db, args.class_ref, role="learner")
        except ClassNotFound:
            try:
                record = get_class(db, args.class_ref)
            except ClassNotFound as exc:
                raise CliError(f"{exc}; join one with 'certlab class join FILE'") from exc
        learner = settings.learner
        if record.learner is not None:
            if args.learner is not None and args.learner != record.learner:
                raise CliError(f"this class was joined as {record.learner}, not {args.learner}")
            learner = record.learner
        ids = class_attempt_ids(db, record.id, learner)
        if ids:
            session = Session.resume(db, ids[0])
            if not session.submitted:
                session.submit()
                if not args.json:
                    say(f"Submitted your exam (attempt {session.attempt_id}).")
        bundle = build_bundle(db, record, learner)
    name = f"{slug(record.name)}-{learner}{SUFFIX}"
    path = Path(args.out) / name if _is_folder(args.out) else Path(args.out or name)
    write_bundle(bundle, path)
    payload = bundle["payload"]
    if args.json:
        emit_json(
            {
                "file": str(path),
                "class": record.id,
                "learner": learner,
                "bundle_id": payload["bundle_id"],
                "exam": None
                if payload["exam"] is None
                else {"score": payload["exam"]["score"], "items": len(payload["exam"]["items"])},
                "labs": [lab["lab"] for lab in payload["labs"]],
            }
        )
    else:
        exam = payload["exam"]
        what = "no exam" if exam is None else f"exam {exam['score']:.1f}%"
        say(
            f"Wrote {path} ({what}, {len(payload['labs'])} lab result(s)). "
            "Hand it to your instructor."
        )
    return Exit.OK
