"""Classes in the progress database: the instructor's own, and those a learner has joined."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grader.classroom.classfile import ClassFile, from_timestamp, learner_key
from grader.exams.presented import Presented
from grader.store.db import Store

Role = Literal["instructor", "learner"]


class ClassNotFound(LookupError):
    """No class matches what was asked for."""


@dataclass(frozen=True)
class ClassForm:
    """The instructor's snapshot of the class form: the key to rescore every bundle with."""

    title: str
    pass_mark: float
    minutes: int
    items: tuple[Presented, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "pass_mark": self.pass_mark,
            "minutes": self.minutes,
            "items": [p.to_json() for p in self.items],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassForm:
        return cls(
            data["title"],
            float(data["pass_mark"]),
            int(data["minutes"]),
            tuple(Presented.from_json(p) for p in data["items"]),
        )


@dataclass(frozen=True)
class ClassRecord:
    """A class as the database keeps it. ``key`` is the class key, or (instructor, per-learner
    keys) the instructor's secret that every learner's key derives from."""

    id: str
    name: str
    role: Role
    level: str
    form_id: str
    seed: int
    opens_at: float
    closes_at: float
    labs: tuple[str, ...]
    key_scheme: Literal["class", "learner"]
    key: str
    learner: str | None
    form_digest: str
    form: ClassForm | None
    created_at: float

    def signing_key(self, learner: str) -> str:
        """The key that signs ``learner``'s bundles."""
        if self.key_scheme == "learner" and self.role == "instructor":
            return learner_key(self.key, learner)
        return self.key

    def class_file(self, learner: str | None = None) -> ClassFile:
        """The class file to hand out (per-learner when the class uses learner keys)."""
        if self.role != "instructor":
            raise ValueError("only the instructor's record can issue class files")
        base = ClassFile(
            id=self.id,
            name=self.name,
            level=self.level,
            exam=self.form_id,
            seed=self.seed,
            opens_at=from_timestamp(self.opens_at),
            closes_at=from_timestamp(self.closes_at),
            labs=self.labs,
            form_digest=self.form_digest,
            key=self.key,
            created_at=from_timestamp(self.created_at),
        )
        if self.key_scheme == "learner":
            if learner is None:
                raise ValueError("this class uses per-learner keys: name the learner")
            return base.for_learner(self.key, learner)
        return base

    def to_json(self) -> dict[str, Any]:
        """A summary without keys or the form."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "level": self.level,
            "exam": self.form_id,
            "seed": self.seed,
            "opens_at": from_timestamp(self.opens_at).isoformat(),
            "closes_at": from_timestamp(self.closes_at).isoformat(),
            "labs": list(self.labs),
            "key_scheme": self.key_scheme,
            "learner": self.learner,
        }


def _record(row: Any) -> ClassRecord:
    return ClassRecord(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        level=row["level"],
        form_id=row["form_id"],
        seed=row["seed"],
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
        labs=tuple(json.loads(row["labs"])),
        key_scheme=row["key_scheme"],
        key=row["key"],
        learner=row["learner"],
        form_digest=row["form_digest"],
        form=ClassForm.from_json(json.loads(row["form"])) if row["form"] else None,
        created_at=row["created_at"],
    )


def register_class(
    store: Store,
    cf: ClassFile,
    role: Role,
    *,
    form: ClassForm | None = None,
    secret: str | None = None,
) -> ClassRecord:
    """Record a class: the instructor's (with its form and, for learner keys, the secret) or
    one a learner joins. A class already recorded as the instructor's stays so."""
    key = secret if secret is not None else cf.key
    with store.conn as conn:
        existing = conn.execute("SELECT role FROM classes WHERE id = ?", (cf.id,)).fetchone()
        if existing is None:
            conn.execute(
                """INSERT INTO classes (id, name, role, level, form_id, seed, opens_at, closes_at,
                   labs, key_scheme, key, learner, form_digest, form, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    cf.id,
                    cf.name,
                    role,
                    cf.level,
                    cf.exam,
                    cf.seed,
                    cf.opens_ts,
                    cf.closes_ts,
                    json.dumps(list(cf.labs)),
                    "learner" if secret is not None else cf.key_scheme,
                    key,
                    cf.learner,
                    cf.form_digest,
                    json.dumps(form.to_json()) if form else None,
                    cf.created_at.timestamp() if cf.created_at else time.time(),
                ),
            )
        elif existing["role"] == "learner" and role == "learner":
            # a re-issued class file (new key, or a per-learner one) replaces the joined copy
            conn.execute(
                "UPDATE classes SET key = ?, key_scheme = ?, learner = ? WHERE id = ?",
                (cf.key, cf.key_scheme, cf.learner, cf.id),
            )
    return get_class(store, cf.id)


def get_class(store: Store, ref: str | None = None, role: Role | None = None) -> ClassRecord:
    """The class with id or name ``ref`` (the newest one when None)."""
    rows = store.all(
        "SELECT * FROM classes WHERE (? IS NULL OR role = ?) ORDER BY created_at DESC, rowid DESC",
        role,
        role,
    )
    if not rows:
        who = {"instructor": "created", "learner": "joined"}.get(role or "", "recorded")
        raise ClassNotFound(f"no class {who} yet" + (" in this database" if role else ""))
    if ref is None:
        return _record(rows[0])
    matches = [r for r in rows if r["id"] == ref] or [r for r in rows if r["name"] == ref]
    if not matches:
        raise ClassNotFound(
            f"no class {ref!r}; classes: " + ", ".join(f"{r['id']} ({r['name']})" for r in rows)
        )
    if len(matches) > 1:
        raise ClassNotFound(f"several classes are called {ref!r}: name one by its id")
    return _record(matches[0])


def list_classes(store: Store, role: Role | None = None) -> list[ClassRecord]:
    """Every class recorded (of ``role``), newest first."""
    rows = store.all(
        "SELECT * FROM classes WHERE (? IS NULL OR role = ?) ORDER BY created_at DESC, rowid DESC",
        role,
        role,
    )
    return [_record(r) for r in rows]


def add_members(
    store: Store,
    class_id: str,
    learners: Iterable[str],
    *,
    issued: bool = False,
    joined: bool = False,
    at: float | None = None,
) -> None:
    """Record learners of a class (a per-learner file issued, or a learner who joined)."""
    at = time.time() if at is None else at
    with store.conn as conn:
        for learner in learners:
            conn.execute(
                "INSERT OR IGNORE INTO class_members (class_id, learner) VALUES (?, ?)",
                (class_id, learner),
            )
            if issued:
                conn.execute(
                    "UPDATE class_members SET issued_at = COALESCE(issued_at, ?) "
                    "WHERE class_id = ? AND learner = ?",
                    (at, class_id, learner),
                )
            if joined:
                conn.execute(
                    "UPDATE class_members SET joined_at = COALESCE(joined_at, ?) "
                    "WHERE class_id = ? AND learner = ?",
                    (at, class_id, learner),
                )


def members(store: Store, class_id: str) -> list[str]:
    """Everybody in the class: issued a file, joined, or with an attempt or a bundle."""
    rows = store.all(
        """SELECT learner FROM class_members WHERE class_id = ?
           UNION SELECT l.name FROM class_attempts c JOIN learners l ON l.id = c.learner_id
                 WHERE c.class_id = ?
           UNION SELECT learner FROM class_bundles WHERE class_id = ?
           ORDER BY 1""",
        class_id,
        class_id,
        class_id,
    )
    return [r[0] for r in rows]


def link_attempt(
    store: Store, class_id: str, attempt_id: int, learner_id: int, bundle_id: str | None = None
) -> None:
    """Mark an exam attempt as sat for the class."""
    with store.conn as conn:
        conn.execute(
            "INSERT OR REPLACE INTO class_attempts (attempt_id, class_id, learner_id, bundle_id) "
            "VALUES (?, ?, ?, ?)",
            (attempt_id, class_id, learner_id, bundle_id),
        )


def class_attempt_ids(store: Store, class_id: str, learner: str) -> list[int]:
    """The learner's attempts for the class, newest first."""
    rows = store.all(
        """SELECT a.id FROM class_attempts c JOIN attempts a ON a.id = c.attempt_id
           JOIN learners l ON l.id = c.learner_id
           WHERE c.class_id = ? AND l.name = ? ORDER BY a.started_at DESC, a.id DESC""",
        class_id,
        learner,
    )
    return [r["id"] for r in rows]


def learner_names(values: Sequence[str]) -> list[str]:
    """Names from ``a,b c`` style arguments, in order, without duplicates."""
    out: list[str] = []
    for value in values:
        out += [v for v in value.replace(",", " ").split() if v]
    return list(dict.fromkeys(out))
