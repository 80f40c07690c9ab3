"""An append-only, hash-chained compliance ledger (reference solution).

    python ledger.py append --kind data|code|model --ref <path-or-id>
                            [--meta KEY=VALUE ...] [--actor NAME]
    python ledger.py verify

Each line of ledger.jsonl is one JSON entry:
  seq, timestamp (ISO-8601 UTC), kind, ref, sha256 (of the file's bytes, or null for an id),
  meta (string -> string), actor, prev_hash (the previous entry_hash; 64 zeros for seq 1) and
  entry_hash = sha256 of json.dumps(entry without entry_hash, sort_keys=True,
  separators=(",", ":")) in UTF-8.
ledger.head holds the last entry_hash: the chain's anchor against truncation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import hashlib
import json
import os
import re
import sys
from pathlib import Path

GENESIS = "0" * 64
KINDS = ("data", "code", "model")
FIELDS = ("seq", "timestamp", "kind", "ref", "sha256", "meta", "actor", "prev_hash", "entry_hash")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


class Broken(Exception):
    def __init__(self, seq: int | str, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def canonical(body: dict) -> bytes:
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def hash_entry(entry: dict) -> str:
    body = {k: v for k, v in entry.items() if k != "entry_hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def head_path(ledger: Path) -> Path:
    return ledger.with_name(ledger.stem + ".head")


def read_entries(ledger: Path) -> list[dict]:
    """Every entry, checked link by link; Broken names the first bad seq."""
    if not ledger.exists():
        return []
    entries: list[dict] = []
    previous = GENESIS
    lines = [ln for ln in ledger.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for position, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
        except ValueError:
            raise Broken(position, "not valid JSON") from None
        if not isinstance(entry, dict):
            raise Broken(position, "not a JSON object")
        missing = [f for f in FIELDS if f not in entry]
        if missing:
            raise Broken(position, f"missing fields {missing}")
        if entry["seq"] != position:
            raise Broken(
                position,
                f"seq is {entry['seq']!r}, expected {position} (entry missing or reordered)",
            )
        if entry["prev_hash"] != previous:
            raise Broken(position, "prev_hash does not match the previous entry_hash")
        if entry["entry_hash"] != hash_entry(entry):
            raise Broken(position, "entry_hash does not match the entry's content")
        previous = entry["entry_hash"]
        entries.append(entry)
    head = head_path(ledger)
    if head.exists():
        anchored = head.read_text(encoding="utf-8").strip()
        last = entries[-1]["entry_hash"] if entries else GENESIS
        if anchored != last:
            raise Broken(
                "head", f"{head.name} does not match the last entry (truncated or rewritten)"
            )
    return entries


def parse_meta(items: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--meta expects key=value, got {item!r}")
        meta[key] = value
    return meta


def cmd_append(args: argparse.Namespace) -> int:
    ledger = Path(args.ledger)
    try:
        entries = read_entries(ledger)  # never extend a broken chain
    except Broken as exc:
        print(f"FAIL seq={exc.seq}: {exc.reason}; refusing to append", file=sys.stderr)
        return 1
    path = Path(args.ref)
    entry = {
        "seq": len(entries) + 1,
        "timestamp": dt.datetime.now(dt.UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "kind": args.kind,
        "ref": args.ref,
        "sha256": sha256_file(path) if path.is_file() else None,
        "meta": parse_meta(args.meta),
        "actor": args.actor or os.environ.get("LEDGER_ACTOR") or getpass.getuser(),
        "prev_hash": entries[-1]["entry_hash"] if entries else GENESIS,
    }
    entry["entry_hash"] = hash_entry(entry)
    with open(ledger, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    head_path(ledger).write_text(entry["entry_hash"] + "\n", encoding="utf-8")
    print(json.dumps({"seq": entry["seq"], "entry_hash": entry["entry_hash"]}))
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    try:
        entries = read_entries(Path(args.ledger))
    except Broken as exc:
        print(
            f"FAIL seq={exc.seq}: {exc.reason}" if exc.seq != "head" else f"FAIL head: {exc.reason}"
        )
        return 1
    print(f"OK {len(entries)} entries")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="append-only hash-chained ledger")
    parser.add_argument("--ledger", default="ledger.jsonl")
    sub = parser.add_subparsers(dest="command", required=True)
    append = sub.add_parser("append", help="record one artifact")
    append.add_argument("--kind", required=True, choices=KINDS)
    append.add_argument("--ref", required=True, help="a file path, or an id such as git:<sha>")
    append.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    append.add_argument("--actor")
    append.set_defaults(run=cmd_append)
    verify = sub.add_parser("verify", help="check the whole chain")
    verify.set_defaults(run=cmd_verify)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
