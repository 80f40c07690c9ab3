"""Collecting bundles: verify every one, reject the bad with a reason, import the rest once.

Rejections (``kind``): ``invalid`` (not a bundle, or malformed), ``foreign`` (a class this
database did not create, or not the class asked for), ``tampered`` (the signature does not
match: edited after signing, or signed with another key), ``replayed`` (this bundle was
already imported) and ``stale`` (older than the learner's bundle already imported).

Importing rescores every answer against the instructor's own snapshot of the class form, so
the learner's scores are never trusted; a newer bundle replaces what the learner's previous
bundle imported, so the database never holds two copies of one learner's class results.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from grader.classroom.bundles import SUFFIX, BundleError, created_ts, digest, read_bundle, verify
from grader.classroom.classfile import ClassFileError, check_learner_name
from grader.classroom.registry import ClassRecord, get_class, list_classes
from grader.exams.scoring import InvalidResponse, is_correct, normalise
from grader.store.db import Store

Kind = Literal["imported", "invalid", "foreign", "tampered", "replayed", "stale"]
CHECK_STATUSES = {"passed", "failed", "not_gradable", "skipped"}


class Rejected(Exception):
    """A bundle that is not imported, and why."""

    def __init__(self, kind: Kind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind


@dataclass
class Outcome:
    """What happened to one bundle file."""

    file: str
    kind: Kind
    reason: str
    learner: str | None = None
    class_id: str | None = None
    bundle_id: str | None = None
    attempt_id: int | None = None
    score: float | None = None

    @property
    def imported(self) -> bool:
        return self.kind == "imported"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["imported"] = self.imported
        return data


def bundle_files(where: Path) -> list[Path]:
    """``where`` itself, or every ``*.bundle.json`` under the folder."""
    if where.is_file():
        return [where]
    return sorted(p for p in where.rglob(f"*{SUFFIX}") if p.is_file())


def collect(
    store: Store, where: Path, *, class_ref: str | None = None, now: float | None = None
) -> list[Outcome]:
    """Verify and import every bundle under ``where`` (oldest first); one outcome per file."""
    wanted = get_class(store, class_ref, role="instructor") if class_ref else None
    mine = {c.id: c for c in list_classes(store, role="instructor")}
    parsed: list[tuple[float, str, Path, dict[str, Any] | None, str]] = []
    for path in bundle_files(where):
        try:
            bundle = read_bundle(path)
            ts = created_ts(bundle["payload"])
            parsed.append((ts, str(path), path, bundle, ""))
        except BundleError as exc:
            parsed.append((float("-inf"), str(path), path, None, str(exc)))
    parsed.sort(key=lambda t: (t[0], t[1]))
    outcomes = []
    for _, _, path, bundle, problem in parsed:
        outcome = Outcome(str(path), "invalid", f"invalid: {problem}")
        if bundle is not None:
            payload = bundle["payload"]
            outcome.learner = payload.get("learner") if isinstance(payload, dict) else None
            outcome.class_id = payload.get("class_id")
            outcome.bundle_id = payload.get("bundle_id")
            try:
                record = _check(store, bundle, mine, wanted)
                attempt_id, score = _import(store, record, bundle, path, now)
            except Rejected as exc:
                outcome.kind, outcome.reason = exc.kind, str(exc)
            else:
                outcome.kind, outcome.attempt_id, outcome.score = "imported", attempt_id, score
                outcome.reason = "imported"
        outcomes.append(outcome)
    return outcomes


def _text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value:
        raise Rejected("invalid", f"invalid: the bundle's {name!r} is missing")
    return value


def _check(
    store: Store,
    bundle: dict[str, Any],
    mine: dict[str, ClassRecord],
    wanted: ClassRecord | None,
) -> ClassRecord:
    payload = bundle["payload"]
    class_id = _text(payload, "class_id")
    learner = _text(payload, "learner")
    bundle_id = _text(payload, "bundle_id")
    try:
        check_learner_name(learner)
    except ClassFileError:
        raise Rejected("invalid", f"invalid: {learner!r} is not a usable learner name") from None
    if wanted is not None and class_id != wanted.id:
        raise Rejected(
            "foreign",
            f"foreign: the bundle is for class {class_id} "
            f"({payload.get('class_name', '?')}), not {wanted.id} ({wanted.name})",
        )
    record = mine.get(class_id)
    if record is None:
        raise Rejected(
            "foreign",
            f"foreign: class {class_id} ({payload.get('class_name', '?')}) was not created in "
            "this database",
        )
    if payload.get("key_scheme") != record.key_scheme:
        raise Rejected("tampered", "tampered: the bundle's key scheme is not the class's")
    if not verify(bundle, record.signing_key(learner)):
        raise Rejected(
            "tampered",
            f"tampered: the signature does not match {learner}'s key for this class (the bundle "
            "was changed after signing, or signed with another class's or learner's key)",
        )
    seen = store.one("SELECT imported_at, file FROM class_bundles WHERE bundle_id = ?", bundle_id)
    if seen is not None:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(seen["imported_at"]))
        raise Rejected(
            "replayed",
            f"replayed: bundle {bundle_id} was already imported on {when} (from {seen['file']})",
        )
    latest = store.one(
        """SELECT bundle_id, created_at FROM class_bundles WHERE class_id = ? AND learner = ?
           ORDER BY created_at DESC LIMIT 1""",
        class_id,
        learner,
    )
    if latest is not None and created_ts(payload) <= latest["created_at"]:
        raise Rejected(
            "stale",
            f"replayed: an older bundle than {learner}'s bundle {latest['bundle_id']} already "
            "imported; only a newer one can replace it",
        )
    return record


def _rescore(record: ClassRecord, exam: dict[str, Any]) -> list[tuple[Any, ...]]:
    """(presented, response, correct, flagged, time_spent, answered_at) per item, rescored."""
    assert record.form is not None
    form = record.form.items
    items = exam.get("items")
    if not isinstance(items, list) or len(items) != len(form):
        raise Rejected("invalid", "invalid: the bundle's exam is not this class's form")
    out = []
    for p, item in zip(form, sorted(items, key=lambda i: i.get("position", -1)), strict=True):
        if (item.get("question_id"), item.get("content_hash")) != (p.question_id, p.content_hash):
            raise Rejected(
                "invalid",
                f"invalid: question {item.get('position', '?')} of the bundle is not the class "
                f"form's ({p.question_id})",
            )
        response = item.get("response")
        if response is None:
            value, correct = None, False
        else:
            try:
                value = normalise(p, response)
            except InvalidResponse as exc:
                raise Rejected(
                    "invalid", f"invalid: the answer to {p.question_id} is malformed ({exc})"
                ) from None
            correct = is_correct(p, value)
        spent = item.get("time_spent") or 0.0
        answered = item.get("answered_at")
        if not isinstance(spent, int | float) or not (
            answered is None or isinstance(answered, int | float)
        ):
            raise Rejected("invalid", f"invalid: the timings of {p.question_id} are malformed")
        out.append((p, value, correct, bool(item.get("flagged")), float(spent), answered))
    return out


def _number(data: dict[str, Any], name: str) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Rejected("invalid", f"invalid: the bundle's {name!r} is not a number")
    return float(value)


def _import(
    store: Store, record: ClassRecord, bundle: dict[str, Any], path: Path, now: float | None
) -> tuple[int | None, float | None]:
    payload = bundle["payload"]
    learner, bundle_id = payload["learner"], payload["bundle_id"]
    exam = payload.get("exam")
    if exam is not None and not isinstance(exam, dict):
        raise Rejected("invalid", "invalid: the bundle's exam is malformed")
    scored = None
    if exam is not None:
        if exam.get("status") != "submitted":
            raise Rejected("invalid", "invalid: the bundle's exam attempt was not submitted")
        scored = _rescore(record, exam)
        started_at = _number(exam, "started_at")
        submitted_at = _number(exam, "submitted_at")
    labs = payload.get("labs") or []
    if not isinstance(labs, list) or not all(isinstance(x, dict) for x in labs):
        raise Rejected("invalid", "invalid: the bundle's lab results are malformed")
    labs = [lab for lab in labs if lab.get("lab") in record.labs]
    for lab in labs:
        _number(lab, "at")
        checks = lab.get("checks")
        if not isinstance(checks, list) or any(
            not isinstance(c, dict) or c.get("status") not in CHECK_STATUSES for c in checks
        ):
            raise Rejected("invalid", f"invalid: the results of lab {lab.get('lab')} are malformed")
    reports = [r for r in payload.get("reports") or [] if isinstance(r, dict)]

    learner_id = store.learner_id(learner)
    now = time.time() if now is None else now
    attempt_id: int | None = None
    score: float | None = None
    with store.conn as conn:
        _forget_previous(conn, record.id, learner, learner_id, bundle_id)
        if scored is not None:
            assert record.form is not None
            total = len(scored)
            correct = sum(1 for s in scored if s[2])
            score = round(100.0 * correct / total, 2) if total else 0.0
            passed = score >= record.form.pass_mark
            last = max([s[5] for s in scored if s[5] is not None] + [submitted_at])
            cur = conn.execute(
                """INSERT INTO attempts (learner_id, form_id, level, mode, title, seed,
                   pass_mark, minutes, started_at, deadline_at, entered_at, last_activity_at,
                   status, submitted_at, auto_submitted, score, passed)
                   VALUES (?, ?, ?, 'exam', ?, ?, ?, ?, ?, ?, ?, ?, 'submitted', ?, ?, ?, ?)""",
                (
                    learner_id,
                    record.form_id,
                    record.level,
                    f"{record.form.title} — {record.name}",
                    record.seed,
                    record.form.pass_mark,
                    record.form.minutes,
                    started_at,
                    exam.get("deadline_at")
                    if isinstance(exam.get("deadline_at"), int | float)
                    else None,
                    started_at,
                    last,
                    submitted_at,
                    int(bool(exam.get("auto_submitted"))),
                    score,
                    int(passed),
                ),
            )
            attempt_id = int(cur.lastrowid or 0)
            conn.executemany(
                """INSERT INTO attempt_items (attempt_id, position, question_id, domain, kind,
                   content_hash, option_order, presented, response, correct, flagged,
                   time_spent, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        attempt_id,
                        i,
                        p.question_id,
                        p.domain,
                        p.kind,
                        p.content_hash,
                        json.dumps(p.option_order),
                        json.dumps(p.to_json()),
                        None if value is None else json.dumps(value),
                        None if value is None else int(ok),
                        int(flagged),
                        spent,
                        answered,
                    )
                    for i, (p, value, ok, flagged, spent, answered) in enumerate(scored)
                ],
            )
            conn.execute(
                "INSERT INTO attempt_events (attempt_id, at, kind, position, data) "
                "VALUES (?, ?, 'import', NULL, ?)",
                (attempt_id, now, json.dumps({"bundle": bundle_id, "class": record.id})),
            )
            conn.execute(
                "INSERT INTO class_attempts (attempt_id, class_id, learner_id, bundle_id) "
                "VALUES (?, ?, ?, ?)",
                (attempt_id, record.id, learner_id, bundle_id),
            )
        for lab in labs:
            _import_lab(conn, record, learner_id, bundle_id, lab)
        for r in reports:
            _import_report(conn, learner_id, attempt_id, r)
        conn.execute(
            """INSERT INTO class_bundles (bundle_id, class_id, learner, created_at, imported_at,
               digest, file) VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (bundle_id, record.id, learner, created_ts(payload), now, digest(bundle), str(path)),
        )
        conn.execute(
            "INSERT OR IGNORE INTO class_members (class_id, learner) VALUES (?, ?)",
            (record.id, learner),
        )
        conn.execute(
            "UPDATE class_members SET joined_at = COALESCE(joined_at, ?) "
            "WHERE class_id = ? AND learner = ?",
            (started_at if scored is not None else now, record.id, learner),
        )
    return attempt_id, score


def _forget_previous(conn: Any, class_id: str, learner: str, learner_id: int, new: str) -> None:
    """Remove what the learner's earlier bundles imported; mark those bundles superseded."""
    conn.execute(
        """UPDATE question_reports SET attempt_id = NULL WHERE attempt_id IN (SELECT attempt_id
           FROM class_attempts WHERE class_id = ? AND learner_id = ? AND bundle_id IS NOT NULL)""",
        (class_id, learner_id),
    )
    conn.execute(
        """DELETE FROM attempts WHERE id IN (SELECT attempt_id FROM class_attempts
           WHERE class_id = ? AND learner_id = ? AND bundle_id IS NOT NULL)""",
        (class_id, learner_id),
    )
    conn.execute(
        """DELETE FROM lab_attempts WHERE id IN (SELECT lab_attempt_id FROM class_lab_runs
           WHERE class_id = ? AND learner_id = ? AND source = 'bundle')""",
        (class_id, learner_id),
    )
    conn.execute(
        "UPDATE class_bundles SET superseded_by = ? "
        "WHERE class_id = ? AND learner = ? AND superseded_by IS NULL",
        (new, class_id, learner),
    )


def _import_lab(
    conn: Any, record: ClassRecord, learner_id: int, bundle_id: str, lab: dict[str, Any]
) -> None:
    checks = lab["checks"]
    score = round(sum(float(c.get("points") or 0) for c in checks), 2)
    max_score = round(sum(float(c.get("max_points") or 0) for c in checks), 2)
    passed = bool(checks) and all(
        c["status"] == "passed" for c in checks if c.get("required", True)
    )
    at = float(lab["at"])
    started = lab.get("started_at") if isinstance(lab.get("started_at"), int | float) else at
    cur = conn.execute(
        "INSERT INTO lab_attempts (learner_id, lab_id, workspace, seed, content_hash, "
        "started_at) VALUES (?, ?, ?, 0, ?, ?)",
        (
            learner_id,
            lab["lab"],
            f"bundle:{bundle_id}",
            str(lab.get("content_hash") or ""),
            started,
        ),
    )
    lab_attempt_id = int(cur.lastrowid or 0)
    cur = conn.execute(
        "INSERT INTO lab_runs (lab_attempt_id, at, score, max_score, passed, backend, cancelled) "
        "VALUES (?, ?, ?, ?, ?, ?, 0)",
        (lab_attempt_id, at, score, max_score, int(passed), str(lab.get("backend") or "local")),
    )
    run_id = int(cur.lastrowid or 0)
    conn.executemany(
        "INSERT OR IGNORE INTO lab_check_results (run_id, task_id, check_id, status, required, "
        "points, max_points, message, evidence, seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)",
        [
            (
                run_id,
                str(c.get("task") or ""),
                str(c.get("id") or f"check-{n}"),
                c["status"],
                int(bool(c.get("required", True))),
                float(c.get("points") or 0),
                float(c.get("max_points") or 0),
                str(c.get("message") or ""),
                float(c.get("seconds") or 0),
            )
            for n, c in enumerate(checks)
        ],
    )
    conn.execute(
        "INSERT INTO class_lab_runs (run_id, class_id, learner_id, source, bundle_id, "
        "lab_attempt_id) VALUES (?, ?, ?, 'bundle', ?, ?)",
        (run_id, record.id, learner_id, bundle_id, lab_attempt_id),
    )


def _import_report(conn: Any, learner_id: int, attempt_id: int | None, r: dict[str, Any]) -> None:
    note = str(r.get("note") or "").strip()
    qid = r.get("question_id")
    created = r.get("created_at")
    if not note or not isinstance(qid, str) or not isinstance(created, int | float):
        return
    exists = conn.execute(
        "SELECT 1 FROM question_reports WHERE learner_id = ? AND question_id = ? AND note = ? "
        "AND created_at = ?",
        (learner_id, qid, note, created),
    ).fetchone()
    if exists is None:
        conn.execute(
            "INSERT INTO question_reports (learner_id, question_id, content_hash, attempt_id, "
            "note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (learner_id, qid, str(r.get("content_hash") or ""), attempt_id, note, created),
        )
