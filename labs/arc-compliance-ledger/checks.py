"""Ground truth for the lab arc-compliance-ledger.

The grader never trusts the learner's code to judge the ledger: it recomputes every
``entry_hash`` itself (canonical JSON: ``json.dumps(body, sort_keys=True,
separators=(",", ":"))`` of the entry without ``entry_hash``, UTF-8, SHA-256 hex), follows
every ``prev_hash`` link and re-hashes the artifacts. To test ``ledger.py verify`` and
``ledger.py append`` independently of the learner's own ledger, it builds its own ledgers
from the seed (fixed timestamps, actor ``certlab-grader``), tampers copies of them in stated
ways and runs the learner's commands in scratch copies of the workspace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
LEDGER = "ledger.jsonl"
HEAD = "ledger.head"
KINDS = ("data", "code", "model")
FIELDS = ("seq", "timestamp", "kind", "ref", "sha256", "meta", "actor", "prev_hash", "entry_hash")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
ARTIFACTS = {
    "data": "data/transactions.csv",
    "code": "src/train.py",
    "model": "models/churn-model.joblib",
}
VERSIONS = {"data": "2026.11", "code": "1.4.0", "model": "7"}
GRADER_ACTOR = "certlab-grader"
RUN_TIMEOUT = 30.0
SKIP = {".git", ".venv", "venv", "__pycache__"}


class LabCheckError(Exception):
    """The learner's work cannot be graded; the message says why."""


def _fail(message: str) -> Any:
    try:
        from grader.checks.sources.base import SourceError
    except ImportError:  # used outside certlab
        raise LabCheckError(message) from None
    raise SourceError(message)


# the hash chain, as the lab states it -------------------------------------------------------


def canonical(body: dict[str, Any]) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(
        canonical({k: v for k, v in entry.items() if k != "entry_hash"})
    ).hexdigest()


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seal(entry: dict[str, Any]) -> dict[str, Any]:
    entry = {k: v for k, v in entry.items() if k != "entry_hash"}
    entry["entry_hash"] = entry_hash(entry)
    return entry


def dump(entries: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(e, sort_keys=True) + "\n" for e in entries)


# setup: the pipeline's artifacts -------------------------------------------------------------


def _artifact_bytes(seed: int) -> dict[str, bytes]:
    import numpy as np

    rng = np.random.default_rng([seed, 1])
    n = 400
    lines = ["customer_id,amount,channel,churned"]
    channels = ("web", "store", "phone")
    for i in range(n):
        amount = round(float(rng.gamma(2.0, 40.0)), 2)
        lines.append(
            f"C{10000 + i},{amount},{channels[int(rng.integers(3))]},{int(rng.random() < 0.2)}"
        )
    data = ("\n".join(lines) + "\n").encode()
    code = (
        '"""Train the churn model (pipeline step 2)."""\n'
        "import joblib\nimport pandas as pd\n"
        "from sklearn.linear_model import LogisticRegression\n\n"
        "frame = pd.read_csv('data/transactions.csv')\n"
        "X = pd.get_dummies(frame[['amount', 'channel']])\n"
        f"model = LogisticRegression(C=0.5, random_state={seed}).fit(X, frame['churned'])\n"
        "joblib.dump(model, 'models/churn-model.joblib')\n"
    ).encode()
    import io

    import joblib
    from sklearn.linear_model import LogisticRegression

    amounts = np.array([[float(line.split(",")[1])] for line in lines[1:]])
    labels = np.array([int(line.split(",")[3]) for line in lines[1:]])
    buffer = io.BytesIO()
    joblib.dump(LogisticRegression(C=0.5).fit(amounts, labels), buffer)
    return {"data": data, "code": code, "model": buffer.getvalue()}


def setup(ctx: Any) -> None:
    ws = Path(ctx.workspace)
    for kind, content in _artifact_bytes(int(ctx.seed)).items():
        path = ws / ARTIFACTS[kind]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def solve(ctx: Any) -> None:
    """Record the pipeline run with the reference ledger.py."""
    ws = Path(ctx.workspace)
    for name in (LEDGER, HEAD):
        with contextlib.suppress(FileNotFoundError):
            (ws / name).unlink()
    shas = {k: file_sha256(ws / p) for k, p in ARTIFACTS.items()}
    commands = [
        ["--kind", "data", "--ref", ARTIFACTS["data"], "--meta", f"version={VERSIONS['data']}"],
        ["--kind", "code", "--ref", ARTIFACTS["code"], "--meta", f"version={VERSIONS['code']}"],
        [
            "--kind",
            "model",
            "--ref",
            ARTIFACTS["model"],
            "--meta",
            f"version={VERSIONS['model']}",
            "--meta",
            f"data_sha256={shas['data']}",
            "--meta",
            f"code_sha256={shas['code']}",
        ],
    ]
    env = {**os.environ, "LEDGER_ACTOR": "ml-pipeline"}
    for args in commands:
        subprocess.run(
            [sys.executable, "ledger.py", "append", *args],
            cwd=ws,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )


# reading a ledger --------------------------------------------------------------------------


def _short(text: str, limit: int = 56) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse(text: str) -> tuple[list[Any], str]:
    """The entries of a ledger file, and 'ok' or the first line that is not a JSON object."""
    entries: list[Any] = []
    for i, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            return entries, f"line {i} is not JSON"
        if not isinstance(value, dict):
            return entries, f"line {i} is not a JSON object"
        entries.append(value)
    return entries, "ok"


def wellformed(entry: dict[str, Any], position: int) -> str:
    where = f"seq {entry.get('seq', position)}"
    missing = [f for f in FIELDS if f not in entry]
    if missing:
        return _short(f"{where} lacks {', '.join(missing)}")
    if not isinstance(entry["seq"], int) or isinstance(entry["seq"], bool):
        return f"{where}: seq is not an integer"
    if not isinstance(entry["timestamp"], str) or not TIMESTAMP.match(entry["timestamp"]):
        return _short(f"{where}: timestamp not ISO-8601 UTC: {entry['timestamp']!r}")
    if entry["kind"] not in KINDS:
        return _short(f"{where}: kind {entry['kind']!r} is not data, code or model")
    if not isinstance(entry["ref"], str) or not entry["ref"]:
        return f"{where}: ref must be a non-empty string"
    if entry["sha256"] is not None and not (
        isinstance(entry["sha256"], str) and HEX64.match(entry["sha256"])
    ):
        return f"{where}: sha256 must be 64 lowercase hex or null"
    meta = entry["meta"]
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        return f"{where}: meta must be an object of strings"
    if not isinstance(entry["actor"], str) or not entry["actor"].strip():
        return f"{where}: actor must be a non-empty string"
    for key in ("prev_hash", "entry_hash"):
        if not isinstance(entry[key], str) or not HEX64.match(entry[key]):
            return f"{where}: {key} must be 64 lowercase hex"
    return "ok"


def chain(entries: list[dict[str, Any]]) -> str:
    """'ok', or the first broken link: seq order, prev_hash, recomputed entry_hash."""
    previous = GENESIS
    for i, entry in enumerate(entries, 1):
        if entry.get("seq") != i:
            return f"line {i} has seq {entry.get('seq')!r}, expected {i}"
        if entry.get("prev_hash") != previous:
            return (
                f"seq {i}: prev_hash does not match seq {i - 1}"
                if i > 1
                else ("seq 1: prev_hash must be 64 zeros")
            )
        recomputed = entry_hash(entry)
        if entry.get("entry_hash") != recomputed:
            return f"seq {i}: entry_hash is not the hash of the entry"
        previous = recomputed
    return "ok"


def _same_file(ref: Any, ws: Path, rel: str) -> bool:
    if not isinstance(ref, str) or not ref:
        return False
    path = Path(ref)
    path = path if path.is_absolute() else ws / path
    try:
        return os.path.realpath(path) == os.path.realpath(ws / rel)
    except (OSError, ValueError):
        return False


def ledger_report(ctx: Any) -> dict[str, Any]:
    """The learner's own ledger.jsonl: form, chain, the recorded pipeline run and its head."""
    ws = Path(ctx.workspace)
    path = ws / LEDGER
    if not path.is_file():
        _fail(f"there is no {LEDGER} in the workspace (run ledger.py append)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{LEDGER} cannot be read as UTF-8 text: {exc}")
    entries, parsed = parse(text)
    doc: dict[str, Any] = {"entries": len(entries), "parsed": parsed}
    form = "ok" if entries else "the ledger is empty"
    for i, entry in enumerate(entries, 1):
        verdict = wellformed(entry, i)
        if verdict != "ok":
            form = verdict
            break
    doc["wellformed"] = form if parsed == "ok" else parsed
    doc["chain"] = chain(entries) if doc["wellformed"] == "ok" else "not checked: malformed entries"
    doc["pipeline"] = _pipeline(entries, ws) if doc["wellformed"] == "ok" else {}
    head = ws / HEAD
    if not head.is_file():
        doc["head"] = f"no {HEAD}"
    else:
        value = head.read_text(encoding="utf-8", errors="replace").strip()
        last = entries[-1].get("entry_hash") if entries else None
        doc["head"] = "ok" if value == last else f"{HEAD} is not the last entry_hash"
    return doc


def _pipeline(entries: list[dict[str, Any]], ws: Path) -> dict[str, Any]:
    actual = {}
    for kind, rel in ARTIFACTS.items():
        actual[kind] = file_sha256(ws / rel) if (ws / rel).is_file() else None
    out: dict[str, Any] = {}
    found: dict[str, dict[str, Any]] = {}
    limit = len(entries) + 1
    for kind in ("model", "code", "data"):  # latest model, then what came before it
        candidates = [
            e
            for e in entries
            if e["kind"] == kind and _same_file(e["ref"], ws, ARTIFACTS[kind]) and e["seq"] < limit
        ]
        if not candidates:
            out[kind] = _short(
                f"no {kind} entry for {ARTIFACTS[kind]}"
                + (f" before seq {limit}" if limit <= len(entries) else "")
            )
            continue
        entry = candidates[-1]
        found[kind] = entry
        limit = entry["seq"]
        if actual[kind] is None:
            out[kind] = f"{ARTIFACTS[kind]} is missing from the workspace"
        elif entry["sha256"] != actual[kind]:
            out[kind] = f"seq {entry['seq']}: sha256 is not the file's"
        elif entry["meta"].get("version") != VERSIONS[kind]:
            out[kind] = _short(
                f"seq {entry['seq']}: meta version {entry['meta'].get('version')!r}, "
                f"expected {VERSIONS[kind]!r}"
            )
        else:
            out[kind] = "ok"
    model = found.get("model")
    if model is None:
        out["lineage"] = "no model entry"
    else:
        meta = model["meta"]
        bad = [
            k for k in ("data", "code") if meta.get(f"{k}_sha256") != actual[k] or actual[k] is None
        ]
        out["lineage"] = (
            "ok"
            if not bad
            else _short(f"model meta {', '.join(f'{k}_sha256' for k in bad)} missing or wrong")
        )
    return out


# the grader's own ledgers --------------------------------------------------------------------


def grader_entries(ctx: Any, ws: Path, count: int = 5) -> list[dict[str, Any]]:
    """A valid chain of ``count`` entries over the workspace's artifacts, fixed timestamps."""
    seed = int(ctx.seed)
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=seed % 600)
    plan = [
        ("data", ARTIFACTS["data"], {"version": VERSIONS["data"]}),
        ("code", ARTIFACTS["code"], {"version": VERSIONS["code"], "commit": f"{seed:x}"[-7:]}),
        ("model", ARTIFACTS["model"], {"version": VERSIONS["model"]}),
        ("code", f"git:{hashlib.sha1(str(seed).encode()).hexdigest()}", {}),
        ("model", "models:/churn-classifier/8", {"version": "8", "stage": "candidate"}),
    ]
    entries = []
    previous = GENESIS
    for i, (kind, ref, meta) in enumerate(plan[:count], 1):
        path = ws / ref
        entry = seal(
            {
                "seq": i,
                "timestamp": (start + dt.timedelta(minutes=7 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "kind": kind,
                "ref": ref,
                "sha256": file_sha256(path) if path.is_file() else None,
                "meta": meta,
                "actor": GRADER_ACTOR,
                "prev_hash": previous,
            }
        )
        previous = entry["entry_hash"]
        entries.append(entry)
    return entries


def scenarios(ctx: Any, ws: Path) -> dict[str, tuple[list[dict[str, Any]], str, Any]]:
    """name -> (ledger entries, head written, the seq verify must name or None)."""
    good = grader_entries(ctx, ws)
    head = good[-1]["entry_hash"]
    edited = [dict(e) for e in good]
    edited[3] = {**edited[3], "meta": {"note": "approved"}}  # entry_hash left stale
    rehashed = [dict(e) for e in good]
    rehashed[1] = seal({**rehashed[1], "actor": "mallory"})  # self-consistent; seq 3 breaks
    deleted = [e for e in good if e["seq"] != 2]
    truncated = good[:-1]
    return {
        "good": (good, head, None),
        "edited": (edited, head, [4]),
        "rehashed": (rehashed, head, [3]),
        "deleted": (deleted, head, [2, 3]),
        "truncated": (truncated, head, "head"),
    }


# running the learner's commands ----------------------------------------------------------------

_cache: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}


def _cached(kind: str, ctx: Any, fn: Any) -> dict[str, Any]:
    """``fn(ctx)``, reused for 60 s while the workspace's files are unchanged."""
    ws = Path(ctx.workspace)
    digest = hashlib.sha256(f"{ws}:{ctx.seed}".encode())
    for path in sorted(ws.rglob("*")):
        rel = path.relative_to(ws)
        if path.is_file() and not (set(rel.parts) & SKIP):
            digest.update(str(rel).encode())
            with contextlib.suppress(OSError):
                digest.update(path.read_bytes())
    key = (kind, digest.hexdigest())
    hit = _cache.get(key)
    if hit and time.monotonic() - hit[0] < 60:
        return hit[1]
    doc = fn(ctx)
    _cache[key] = (time.monotonic(), doc)
    return doc


def _scratch(ws: Path, parent: Path, name: str) -> Path:
    target = parent / name
    shutil.copytree(
        ws,
        target,
        ignore=lambda d, names: [n for n in names if n in SKIP or n in (LEDGER, HEAD)],
        symlinks=True,
    )
    return target


def _run(argv: list[str], cwd: Path, env_extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("LEDGER_ACTOR", None)
    env.update(env_extra or {})
    with tempfile.TemporaryFile() as out:
        try:
            proc = subprocess.Popen(
                [sys.executable, *argv],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            return {"exit_code": None, "output": str(exc), "timed_out": False}
        timed_out = False
        try:
            proc.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            timed_out = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        out.seek(0)
        text = out.read(256 * 1024).decode("utf-8", errors="replace")
    return {
        "exit_code": None if timed_out else proc.returncode,
        "output": text,
        "timed_out": timed_out,
    }


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _verdict(run: dict[str, Any], expect: Any) -> str:
    if run["timed_out"]:
        return f"verify ran longer than {RUN_TIMEOUT:g} s"
    code, output = run["exit_code"], run["output"]
    if expect is None:
        if code == 0:
            return "ok"
        return _short(f"exit {code} on a good ledger: {_last_line(output)}")
    if code == 0:
        return "exit 0 on a tampered ledger"
    if expect == "head":
        return "ok"
    if any(re.search(rf"(?m)FAIL seq={n}(?!\d)", output) for n in expect):
        return "ok"
    return _short(f"exit {code}, no 'FAIL seq={expect[0]}': {_last_line(output)}")


def verify_probe(ctx: Any) -> dict[str, Any]:
    """Run the learner's verify on the grader's good and tampered ledgers, and on their own."""
    return _cached("verify", ctx, _verify_probe)


def _verify_probe(ctx: Any) -> dict[str, Any]:
    ws = Path(ctx.workspace)
    if not (ws / "ledger.py").is_file():
        _fail("there is no ledger.py in the workspace")
    doc: dict[str, Any] = {}
    parent = Path(tempfile.mkdtemp(prefix="certlab-ledger-"))
    try:
        for name, (entries, head, expect) in scenarios(ctx, ws).items():
            target = _scratch(ws, parent, name)
            (target / LEDGER).write_text(dump(entries), encoding="utf-8")
            (target / HEAD).write_text(head + "\n", encoding="utf-8")
            doc[name] = _verdict(_run(["ledger.py", "verify"], target), expect)
        own = ws / LEDGER
        if own.is_file():
            entries, parsed = parse(own.read_text(encoding="utf-8", errors="replace"))
            if parsed == "ok" and entries and chain(entries) == "ok":
                target = _scratch(ws, parent, "own")
                shutil.copy2(own, target / LEDGER)
                if (ws / HEAD).is_file():
                    shutil.copy2(ws / HEAD, target / HEAD)
                doc["own"] = _verdict(_run(["ledger.py", "verify"], target), None)
                doc["own_tampered"] = _tamper_own(own, ws, parent)
            else:
                doc["own"] = doc["own_tampered"] = "your ledger's chain is broken"
        else:
            doc["own"] = doc["own_tampered"] = f"no {LEDGER} yet"
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    return doc


def _tamper_own(own: Path, ws: Path, parent: Path) -> str:
    """A copy of the learner's ledger with the second entry's actor changed: FAIL seq=2."""
    lines = own.read_text(encoding="utf-8").splitlines(keepends=True)
    numbered = [i for i, line in enumerate(lines) if line.strip()]
    if len(numbered) < 2:
        return "your ledger has fewer than 2 entries"
    i = numbered[1]
    entry = json.loads(lines[i])
    entry["actor"] = f"{entry.get('actor')}-impostor"
    lines[i] = json.dumps(entry, sort_keys=True) + "\n"
    target = _scratch(ws, parent, "own-tampered")
    (target / LEDGER).write_text("".join(lines), encoding="utf-8")
    if (ws / HEAD).is_file():
        shutil.copy2(ws / HEAD, target / HEAD)
    return _verdict(_run(["ledger.py", "verify"], target), [2])


def append_probe(ctx: Any) -> dict[str, Any]:
    """Append two entries with the learner's code onto the grader's 3-entry ledger."""
    return _cached("append", ctx, _append_probe)


def _append_probe(ctx: Any) -> dict[str, Any]:
    ws = Path(ctx.workspace)
    if not (ws / "ledger.py").is_file():
        _fail("there is no ledger.py in the workspace")
    parent = Path(tempfile.mkdtemp(prefix="certlab-ledger-"))
    doc: dict[str, Any] = {}
    try:
        target = _scratch(ws, parent, "append")
        base = grader_entries(ctx, target, count=3)
        original = dump(base)
        (target / LEDGER).write_text(original, encoding="utf-8")
        (target / HEAD).write_text(base[-1]["entry_hash"] + "\n", encoding="utf-8")
        env = {"LEDGER_ACTOR": GRADER_ACTOR}
        before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
        first = _run(
            [
                "ledger.py",
                "append",
                "--kind",
                "model",
                "--ref",
                ARTIFACTS["model"],
                "--meta",
                "version=9",
                "--meta",
                "note=a=b",
            ],
            target,
            env,
        )
        second = _run(
            ["ledger.py", "append", "--kind", "code", "--ref", "git:4f2a9c1"], target, env
        )
        after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
        for label, run in (("first", first), ("second", second)):
            if run["timed_out"] or run["exit_code"] != 0:
                doc["ran"] = _short(
                    f"{label} append: exit {run['exit_code']}: {_last_line(run['output'])}"
                )
                return doc
        doc["ran"] = "ok"
        text = (target / LEDGER).read_text(encoding="utf-8", errors="replace")
        doc["append_only"] = (
            "ok" if text.startswith(original) else "the first 3 lines were rewritten"
        )
        entries, parsed = parse(text)
        if parsed != "ok" or len(entries) != 5:
            doc["entries"] = _short(
                parsed if parsed != "ok" else f"{len(entries)} entries, expected 5"
            )
            return doc
        doc["entries"] = "ok"
        new = entries[3:]
        forms = [wellformed(e, i) for i, e in enumerate(new, 4)]
        doc["wellformed"] = next((f for f in forms if f != "ok"), "ok")
        doc["chain"] = chain(entries)
        fourth, fifth = new
        expected4 = {
            "kind": "model",
            "ref": ARTIFACTS["model"],
            "sha256": file_sha256(target / ARTIFACTS["model"]),
            "meta": {"version": "9", "note": "a=b"},
            "actor": GRADER_ACTOR,
        }
        expected5 = {
            "kind": "code",
            "ref": "git:4f2a9c1",
            "sha256": None,
            "meta": {},
            "actor": GRADER_ACTOR,
        }
        doc["fields"] = next(
            (v for v in (_fields(fourth, expected4, 4), _fields(fifth, expected5, 5)) if v != "ok"),
            "ok",
        )
        doc["timestamp"] = _recent(new, before, after)
        head = (
            (target / HEAD).read_text(encoding="utf-8", errors="replace").strip()
            if (target / HEAD).is_file()
            else ""
        )
        doc["head"] = "ok" if head == entries[-1].get("entry_hash") else f"{HEAD} not updated"
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    return doc


def _fields(entry: dict[str, Any], expected: dict[str, Any], seq: int) -> str:
    for key, value in expected.items():
        if entry.get(key) != value:
            return _short(f"seq {seq}: {key} {entry.get(key)!r}, expected {value!r}")
    return "ok"


def _recent(entries: list[dict[str, Any]], before: dt.datetime, after: dt.datetime) -> str:
    for entry in entries:
        stamp = entry.get("timestamp")
        if not isinstance(stamp, str) or not TIMESTAMP.match(stamp):
            return _short(f"seq {entry.get('seq')}: timestamp not ISO-8601 UTC: {stamp!r}")
        when = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        if not before <= when <= after:
            return f"seq {entry.get('seq')}: timestamp is not the current UTC time"
    return "ok"
