"""Result bundles: a learner's class results, signed with HMAC-SHA256 over canonical JSON.

A bundle file (``*.bundle.json``) is::

    {"format": "certlab-bundle/1",
     "payload": {"class_id", "class_name", "learner", "bundle_id", "created_at",
                 "key_scheme", "exam": {...} | null, "labs": [...], "reports": [...],
                 "timings": {...}},
     "signature": {"alg": "HMAC-SHA256", "value": "<hex>"}}

The signature covers the canonical form of ``payload`` (keys sorted, no spaces, UTF-8), so
any change to any field, or a bundle signed with another class's key, fails verification.
``bundle_id`` is random and ``created_at`` is set at signing, so a bundle imported once, or
older than one already imported for the learner, is recognised as a replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.classroom.registry import ClassRecord, class_attempt_ids
from grader.store.db import Store

FORMAT = "certlab-bundle/1"
ALG = "HMAC-SHA256"
SUFFIX = ".bundle.json"


class BundleError(Exception):
    """A bundle cannot be read or built."""


def canonical(payload: Any) -> bytes:
    """The bytes that are signed: JSON with sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def signature(payload: Any, key: str) -> str:
    """HMAC-SHA256 of the canonical payload under the hex ``key``."""
    return hmac.new(bytes.fromhex(key), canonical(payload), hashlib.sha256).hexdigest()


def seal(payload: dict[str, Any], key: str) -> dict[str, Any]:
    """A signed bundle for ``payload``."""
    return {
        "format": FORMAT,
        "payload": payload,
        "signature": {"alg": ALG, "value": signature(payload, key)},
    }


def verify(bundle: dict[str, Any], key: str) -> bool:
    """Whether ``bundle``'s signature is right for ``key`` (constant-time comparison)."""
    sig = bundle.get("signature")
    if not isinstance(sig, dict) or sig.get("alg") != ALG or not isinstance(sig.get("value"), str):
        return False
    try:
        expected = signature(bundle["payload"], key)
    except (KeyError, TypeError, ValueError):
        return False
    return hmac.compare_digest(expected, sig["value"])


def digest(bundle: dict[str, Any]) -> str:
    """SHA-256 of the canonical payload (identifies a bundle's content)."""
    return hashlib.sha256(canonical(bundle.get("payload"))).hexdigest()


def now_iso() -> str:
    """The current UTC time, ISO-8601 with microseconds (bundles order by it)."""
    return datetime.now(UTC).isoformat()


def created_ts(payload: dict[str, Any]) -> float:
    """A payload's ``created_at`` as a timestamp; BundleError when it is not a time."""
    try:
        value = datetime.fromisoformat(str(payload["created_at"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise BundleError("created_at is missing or not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise BundleError("created_at has no timezone")
    return value.timestamp()


def _exam(store: Store, record: ClassRecord, learner: str) -> dict[str, Any] | None:
    ids = class_attempt_ids(store, record.id, learner)
    if not ids:
        return None
    a = store.one("SELECT * FROM attempts WHERE id = ?", ids[0])
    assert a is not None
    items = store.all("SELECT * FROM attempt_items WHERE attempt_id = ? ORDER BY position", a["id"])
    return {
        "attempt": a["id"],
        "form_id": a["form_id"],
        "level": a["level"],
        "seed": a["seed"],
        "status": a["status"],
        "started_at": a["started_at"],
        "deadline_at": a["deadline_at"],
        "submitted_at": a["submitted_at"],
        "auto_submitted": bool(a["auto_submitted"]),
        "score": a["score"],
        "passed": None if a["passed"] is None else bool(a["passed"]),
        "items": [
            {
                "position": i["position"],
                "question_id": i["question_id"],
                "content_hash": i["content_hash"],
                "response": None if i["response"] is None else json.loads(i["response"]),
                "flagged": bool(i["flagged"]),
                "time_spent": round(i["time_spent"], 3),
                "answered_at": i["answered_at"],
            }
            for i in items
        ],
    }


def _labs(store: Store, record: ClassRecord, learner: str) -> list[dict[str, Any]]:
    """Per class lab, the learner's latest check run inside the class's opening hours."""
    out = []
    for lab in record.labs:
        run = store.one(
            """SELECT r.*, a.content_hash, a.started_at AS lab_started FROM lab_runs r
               JOIN lab_attempts a ON a.id = r.lab_attempt_id
               JOIN learners l ON l.id = a.learner_id
               WHERE l.name = ? AND a.lab_id = ? AND r.cancelled = 0 AND r.at >= ? AND r.at <= ?
               ORDER BY r.at DESC, r.id DESC LIMIT 1""",
            learner,
            lab,
            record.opens_at,
            record.closes_at,
        )
        if run is None:
            continue
        checks = store.all(
            "SELECT * FROM lab_check_results WHERE run_id = ? ORDER BY rowid", run["id"]
        )
        out.append(
            {
                "lab": lab,
                "content_hash": run["content_hash"],
                "started_at": run["lab_started"],
                "at": run["at"],
                "score": run["score"],
                "max_score": run["max_score"],
                "passed": bool(run["passed"]),
                "backend": run["backend"],
                "checks": [
                    {
                        "task": c["task_id"],
                        "id": c["check_id"],
                        "status": c["status"],
                        "required": bool(c["required"]),
                        "points": c["points"],
                        "max_points": c["max_points"],
                        "message": c["message"],
                        "seconds": c["seconds"],
                    }
                    for c in checks
                ],
            }
        )
    return out


def _reports(store: Store, learner: str, question_ids: set[str]) -> list[dict[str, Any]]:
    rows = store.all(
        """SELECT r.* FROM question_reports r JOIN learners l ON l.id = r.learner_id
           WHERE l.name = ? ORDER BY r.created_at""",
        learner,
    )
    return [
        {
            "question_id": r["question_id"],
            "content_hash": r["content_hash"],
            "note": r["note"],
            "created_at": r["created_at"],
        }
        for r in rows
        if r["question_id"] in question_ids
    ]


def build_bundle(store: Store, record: ClassRecord, learner: str) -> dict[str, Any]:
    """The learner's signed bundle for the class: exam answers, lab results, reports, timings."""
    exam = _exam(store, record, learner)
    labs = _labs(store, record, learner)
    questions = {i["question_id"] for i in exam["items"]} if exam else set()
    exam_seconds = None
    if exam and exam["submitted_at"] is not None:
        exam_seconds = round(exam["submitted_at"] - exam["started_at"], 1)
    payload = {
        "class_id": record.id,
        "class_name": record.name,
        "learner": learner,
        "bundle_id": uuid.uuid4().hex,
        "created_at": now_iso(),
        "key_scheme": record.key_scheme,
        "exam": exam,
        "labs": labs,
        "reports": _reports(store, learner, questions),
        "timings": {
            "exam_seconds": exam_seconds,
            "answer_seconds": sum(i["time_spent"] for i in exam["items"]) if exam else None,
            "lab_seconds": {
                lab["lab"]: round(sum(c["seconds"] for c in lab["checks"]), 3) for lab in labs
            },
        },
    }
    return seal(payload, record.signing_key(learner))


def write_bundle(bundle: dict[str, Any], path: Path) -> Path:
    """Write a bundle file; returns its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def read_bundle(path: Path) -> dict[str, Any]:
    """A bundle file's object; BundleError when it is not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"not readable as JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BundleError(f"not a certlab result bundle (format {FORMAT})")
    if not isinstance(data.get("payload"), dict):
        raise BundleError("the bundle has no payload")
    return data
