"""``certlab locate`` and ``certlab --version``."""

from __future__ import annotations

import argparse
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import emit_json, say


def register(sub: Any) -> None:
    """Add the informational commands."""
    p = sub.add_parser("locate", help="where data, config, workspaces and content live")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_locate)


def print_version() -> None:
    """certlab's version, and Textual's (the TUI's engine)."""
    from importlib.metadata import PackageNotFoundError, version

    from grader import version as certlab_version

    try:
        textual = version("textual")
    except PackageNotFoundError:
        textual = "not installed"
    say(f"certlab {certlab_version()}")
    say(f"textual {textual}")


def cmd_locate(args: argparse.Namespace) -> int:
    from grader import paths

    where = {
        "home": str(paths.home()) if paths.home() else None,
        "data": str(paths.data_dir()),
        "database": str(paths.database_path()),
        "config": str(paths.config_file()),
        "workspaces": str(paths.workspaces_dir()),
        "content": str(paths.content_root()),
    }
    if args.json:
        emit_json(where)
    else:
        for key, value in where.items():
            if value is not None:
                say(f"{key:<11}{value}")
    return Exit.OK
