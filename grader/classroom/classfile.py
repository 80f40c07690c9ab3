"""The class file: what an instructor hands to learners so that they all sit one exam.

A class file is JSON::

    {"format": "certlab-class/1", "id": "cls-…", "name": "June cohort",
     "level": "foundation", "exam": "foundation", "seed": 421337,
     "opens_at": "2025-06-02T09:00:00+02:00", "closes_at": "2025-06-02T12:00:00+02:00",
     "labs": ["fnd-experiment-tracking"], "form_digest": "<sha256>",
     "key_scheme": "class", "learner": null, "key": "<64 hex>", "created_at": "…"}

``key_scheme`` ``class``: every learner's file holds the same class key. ``learner``: each
file is bound to one learner and holds ``HMAC-SHA256(secret, learner)``; the instructor keeps
the secret, so one learner cannot sign another's results.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from grader.content.loader import Content
from grader.content.model import ExamForm
from grader.exams.presented import Presented

FORMAT = "certlab-class/1"
KeyScheme = Literal["class", "learner"]
_LEARNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


class ClassFileError(Exception):
    """A class file cannot be read, or a class cannot be created as asked."""


class ClassWindowError(Exception):
    """The class is not open now (before its opening or after its closing time)."""


def parse_time(text: str, what: str = "time") -> datetime:
    """An ISO-8601 time with a timezone (``Z`` or ``+02:00``); ClassFileError otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except (AttributeError, ValueError):
        raise ClassFileError(
            f"{what} {text!r} is not an ISO-8601 time (for example 2025-06-02T09:00+02:00)"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ClassFileError(
            f"{what} {text!r} has no timezone: add one, for example {text}+00:00 or {text}Z"
        )
    return value


def iso(value: datetime) -> str:
    """``value`` as ISO-8601 with its offset, to the second."""
    return value.replace(microsecond=0).isoformat()


def from_timestamp(ts: float, like: datetime | None = None) -> datetime:
    """An aware datetime for ``ts`` in ``like``'s timezone (UTC without one)."""
    return datetime.fromtimestamp(ts, like.tzinfo if like is not None else UTC)


def check_learner_name(name: str) -> str:
    """A learner name usable in a class (letters, digits and ``._@+-``, at most 64)."""
    if not _LEARNER.match(name or ""):
        raise ClassFileError(
            f"learner name {name!r} is not usable in a class: use letters, digits and ._@+- "
            "(at most 64 characters, starting with a letter or digit)"
        )
    return name


def new_key() -> str:
    """A fresh 256-bit key as hex."""
    return secrets.token_hex(32)


def learner_key(secret: str, learner: str) -> str:
    """The per-learner key: ``HMAC-SHA256(secret, learner)`` as hex."""
    return hmac.new(bytes.fromhex(secret), learner.encode("utf-8"), hashlib.sha256).hexdigest()


def class_form(content: Content, form: ExamForm, seed: int) -> list[Presented]:
    """The class's exam form exactly as ``Session.start(..., avoid_recent=False)`` draws it."""
    from grader.exams import forms
    from grader.exams.presented import present

    drawn = forms.draw(
        content,
        form.level,
        form.questions,
        seed,
        avoid=frozenset(),
        prefer_case_studies=form.prefer_case_studies,
    )
    return [present(q, seed) for q in drawn]


def form_digest(items: Sequence[Presented]) -> str:
    """A fingerprint of a drawn form: question ids, content hashes and option orders."""
    data = [[p.question_id, p.content_hash, p.option_order] for p in items]
    return hashlib.sha256(json.dumps(data, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class ClassFile:
    """One class, as written to (and read from) a class file."""

    id: str
    name: str
    level: str
    exam: str
    seed: int
    opens_at: datetime
    closes_at: datetime
    labs: tuple[str, ...]
    form_digest: str
    key: str
    key_scheme: KeyScheme = "class"
    learner: str | None = None
    created_at: datetime | None = None

    @property
    def opens_ts(self) -> float:
        return self.opens_at.timestamp()

    @property
    def closes_ts(self) -> float:
        return self.closes_at.timestamp()

    def to_json(self) -> dict[str, Any]:
        """The file's JSON object."""
        return {
            "format": FORMAT,
            "id": self.id,
            "name": self.name,
            "level": self.level,
            "exam": self.exam,
            "seed": self.seed,
            "opens_at": iso(self.opens_at),
            "closes_at": iso(self.closes_at),
            "labs": list(self.labs),
            "form_digest": self.form_digest,
            "key_scheme": self.key_scheme,
            "learner": self.learner,
            "key": self.key,
            "created_at": iso(self.created_at) if self.created_at else None,
        }

    @classmethod
    def from_json(cls, data: Any, where: str = "class file") -> ClassFile:
        """Parse and check a class file's object; ClassFileError names the bad field."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ClassFileError(f"{where} is not a certlab class file (format {FORMAT})")

        def field(name: str, kind: type | tuple[type, ...]) -> Any:
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ClassFileError(f"{where}: field {name!r} is missing or malformed")
            return value

        labs = field("labs", list)
        if not all(isinstance(x, str) for x in labs):
            raise ClassFileError(f"{where}: field 'labs' must list lab ids")
        scheme = field("key_scheme", str)
        if scheme not in ("class", "learner"):
            raise ClassFileError(f"{where}: key_scheme must be 'class' or 'learner'")
        learner = data.get("learner")
        if scheme == "learner":
            if not isinstance(learner, str):
                raise ClassFileError(f"{where}: a per-learner class file must name its learner")
            check_learner_name(learner)
        key = field("key", str)
        if not re.fullmatch(r"[0-9a-f]{64}", key):
            raise ClassFileError(f"{where}: field 'key' must be 64 hex digits")
        opens = parse_time(field("opens_at", str), "opens_at")
        closes = parse_time(field("closes_at", str), "closes_at")
        if closes <= opens:
            raise ClassFileError(f"{where}: closes_at must be after opens_at")
        created = data.get("created_at")
        return cls(
            id=field("id", str),
            name=field("name", str),
            level=field("level", str),
            exam=field("exam", str),
            seed=field("seed", int),
            opens_at=opens,
            closes_at=closes,
            labs=tuple(labs),
            form_digest=field("form_digest", str),
            key=key,
            key_scheme=scheme,  # type: ignore[arg-type]
            learner=learner if scheme == "learner" else None,
            created_at=parse_time(created, "created_at") if isinstance(created, str) else None,
        )

    def for_learner(self, secret: str, learner: str) -> ClassFile:
        """The per-learner file for ``learner`` (key derived from the instructor's secret)."""
        check_learner_name(learner)
        return replace(
            self, key_scheme="learner", learner=learner, key=learner_key(secret, learner)
        )

    def describe_time(self, ts: float) -> str:
        """A time in the class's timezone, for messages."""
        return from_timestamp(ts, self.opens_at).strftime("%Y-%m-%d %H:%M %z")


def read_class_file(path: Path) -> ClassFile:
    """Read a class file; ClassFileError with the reason when it cannot be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClassFileError(f"no class file at {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ClassFileError(f"{path} cannot be read as a class file: {exc}") from None
    return ClassFile.from_json(data, str(path))


def write_class_file(cf: ClassFile, path: Path) -> Path:
    """Write ``cf`` to ``path`` (folders created); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(cf.to_json(), indent=2, ensure_ascii=False) + "\n", "utf-8")
    return path


def new_class(
    content: Content,
    *,
    name: str,
    exam: str,
    closes_at: datetime,
    opens_at: datetime | None = None,
    seed: int | None = None,
    labs: Sequence[str] = (),
    level: str | None = None,
    now: float | None = None,
) -> tuple[ClassFile, list[Presented]]:
    """A new class (with a fresh key) and its drawn form; ClassFileError when inconsistent."""
    if not name.strip():
        raise ClassFileError("a class needs a name")
    try:
        form = content.form(exam)
    except KeyError as exc:
        raise ClassFileError(f"{exc.args[0]}; see 'certlab exam list'") from None
    if level is not None and level != form.level:
        raise ClassFileError(f"exam {exam!r} is a {form.level} exam, not {level}")
    for lab in labs:
        if lab not in content.labs:
            raise ClassFileError(f"unknown lab {lab!r}; see 'certlab lab list'")
    now = time.time() if now is None else now
    opens_at = opens_at or from_timestamp(now, closes_at).replace(microsecond=0)
    if closes_at <= opens_at:
        raise ClassFileError("the class must close after it opens")
    seed = secrets.randbelow(2**31) if seed is None else seed
    items = class_form(content, form, seed)
    if not items:
        raise ClassFileError(f"exam {exam!r} draws no questions from this bank")
    cf = ClassFile(
        id=f"cls-{secrets.token_hex(6)}",
        name=name.strip(),
        level=form.level,
        exam=form.id,
        seed=seed,
        opens_at=opens_at,
        closes_at=closes_at,
        labs=tuple(dict.fromkeys(labs)),
        form_digest=form_digest(items),
        key=new_key(),
        created_at=from_timestamp(now, closes_at),
    )
    return cf, items


def check_window(cf: ClassFile, now: float, doing: str = "join") -> None:
    """Refuse (ClassWindowError) when ``now`` is outside the class's opening hours."""
    if now < cf.opens_ts:
        wait = cf.opens_ts - now
        raise ClassWindowError(
            f"class {cf.name!r} opens at {cf.describe_time(cf.opens_ts)} "
            f"(in {_duration(wait)}): you cannot {doing} it before then"
        )
    if now >= cf.closes_ts:
        raise ClassWindowError(
            f"class {cf.name!r} closed at {cf.describe_time(cf.closes_ts)}: "
            f"you can no longer {doing} it"
        )


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60) + (1 if seconds % 60 else 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def slug(text: str) -> str:
    """``text`` as a file-name-safe slug."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "class"
