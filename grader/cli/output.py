"""Output helpers: machine output on stdout, diagnostics as one plain line on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from grader.cli.exitcodes import Exit


class CliError(Exception):
    """A failure to report as one line on stderr and an exit code."""

    def __init__(self, message: str, code: Exit = Exit.USAGE) -> None:
        super().__init__(message)
        self.code = code


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON to stdout."""
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def say(text: str = "") -> None:
    """Write human output to stdout."""
    sys.stdout.write(text + "\n")


def warn(text: str) -> None:
    """One diagnostic line on stderr."""
    sys.stderr.write(f"certlab: {text}\n")


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return "\n".join(lines)
