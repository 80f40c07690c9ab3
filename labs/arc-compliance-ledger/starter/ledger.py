"""An append-only, hash-chained compliance ledger — to write.

    python ledger.py append --kind data|code|model --ref <path-or-id>
                            [--meta KEY=VALUE ...] [--actor NAME]
    python ledger.py verify

The lab's tasks state the entry format, the canonical JSON and the output of verify exactly.
This skeleton parses the command line; the TODOs are yours.
"""

from __future__ import annotations

import argparse
import sys

GENESIS = "0" * 64  # prev_hash of seq 1
KINDS = ("data", "code", "model")


def canonical(body: dict) -> bytes:
    """The bytes that are hashed: the entry without entry_hash, as canonical JSON."""
    raise NotImplementedError("TODO: canonical JSON")


def cmd_append(args: argparse.Namespace) -> int:
    # TODO: read the ledger, build the next entry, hash it, append one line.
    print("TODO: append is not implemented yet", file=sys.stderr)
    return 2


def cmd_verify(args: argparse.Namespace) -> int:
    # TODO: walk the chain; print "OK <n> entries" or "FAIL seq=<N>: <reason>".
    print("TODO: verify is not implemented yet", file=sys.stderr)
    return 2


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
