"""``certlab serve``: one machine serves certlab to a room of browsers (textual-serve).

Every browser session runs its own ``certlab`` process against this machine's database (WAL
mode, a 30 s busy timeout, ``BEGIN IMMEDIATE`` writes), so a room answering at once loses
nothing. textual-serve cannot pass per-user arguments, so the served app runs with
``CERTLAB_SERVE=1`` and asks each learner for their name when it starts.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from typing import Any

from grader.cli.exitcodes import Exit
from grader.cli.output import CliError, say

#: set in the served app's environment: the app asks for the learner's name
SERVE_ENV = "CERTLAB_SERVE"


def register(sub: Any) -> None:
    """Add ``certlab serve``."""
    p = sub.add_parser("serve", help="serve certlab to browsers (one process per session)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--public-url", help="the URL browsers use, when behind a proxy")
    p.add_argument("--app-process", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=cmd_serve)


def served_command() -> str:
    """The shell command textual-serve runs for each browser session."""
    return f"{shlex.quote(sys.executable)} -m grader serve --app-process"


def cmd_serve(args: argparse.Namespace) -> int:
    from grader.cli import open_tui

    if args.app_process:  # one browser session: the app, driven by textual-serve
        os.environ[SERVE_ENV] = "1"
        return open_tui(args, force=True)
    try:
        from textual_serve.server import Server
    except ImportError as exc:
        raise CliError(
            "certlab serve needs textual-serve: pip install 'certlab[serve]'", Exit.FAILED
        ) from exc
    os.environ[SERVE_ENV] = "1"
    # Every session must use this machine's database and content, wherever it is started.
    from grader import paths

    os.environ.setdefault("CERTLAB_CONTENT", str(paths.content_root()))
    # Create and migrate the database once, before a room of sessions opens it at the same
    # moment (switching a new database to WAL is not covered by the busy timeout).
    from grader.store.db import StoreError, open_store

    try:
        open_store().close()
    except StoreError as exc:
        raise CliError(str(exc), Exit.FAILED) from exc
    server = Server(
        served_command(),
        host=args.host,
        port=args.port,
        title="certlab",
        public_url=args.public_url,
    )
    say(f"Serving certlab at {server.public_url} (database {paths.database_path()})")
    say("Each browser tab runs its own certlab and asks for the learner's name. Ctrl+C stops.")
    if args.host in ("127.0.0.1", "localhost"):
        say("Only this machine can connect: use --host 0.0.0.0 to serve the room.")
    server.serve()
    return Exit.OK
