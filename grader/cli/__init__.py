"""The ``certlab`` command: bare, it opens the TUI; subcommands script everything else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from grader.cli.exitcodes import Exit
from grader.cli.output import CliError, warn


class _Parser(argparse.ArgumentParser):
    """Usage errors as one plain line on stderr (and exit 2), like every other diagnostic."""

    def error(self, message: str) -> None:  # type: ignore[override]
        warn(f"{message} (see '{self.prog} --help')")
        raise SystemExit(Exit.USAGE)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    from grader.cli import (
        class_cmds,
        cluster_cmds,
        content_cmds,
        exam_cmds,
        info_cmds,
        lab_cmds,
        progress_cmds,
    )

    parser = _Parser(
        prog="certlab",
        description="A terminal learning lab and exam simulator for MLOps certifications.",
        epilog="Run 'certlab' with no command to open the app. Exit codes: 0 ok, 1 failed, "
        "2 usage, 3 content invalid, 4 cluster unreachable, 130 interrupted.",
    )
    parser.add_argument("--version", action="store_true", help="print versions and exit")
    parser.add_argument(
        "--learner", help="learner profile to use (default: $CERTLAB_LEARNER or your user name)"
    )
    parser.add_argument("--instructor", action="store_true", default=None, help="instructor mode")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    exam_cmds.register(sub)
    content_cmds.register(sub)
    lab_cmds.register(sub)
    progress_cmds.register(sub)
    info_cmds.register(sub)
    cluster_cmds.register(sub)
    class_cmds.register(sub)  # class and serve
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.version:
            from grader.cli.info_cmds import print_version

            print_version()
            return Exit.OK
        if args.command is None:
            return open_tui(args)
        return int(args.run(args))
    except CliError as exc:
        warn(str(exc))
        return int(exc.code)
    except KeyboardInterrupt:
        warn("interrupted")
        return Exit.INTERRUPTED
    except BrokenPipeError:
        return Exit.OK


def settings_from(args: argparse.Namespace):
    """Settings for this run, the command line's values on top."""
    from grader.settings import SettingsError, load_settings

    try:
        return load_settings(learner=args.learner, instructor=args.instructor)
    except SettingsError as exc:
        raise CliError(f"config file: {exc}") from exc


def open_tui(args: argparse.Namespace, **screen: object) -> int:
    """Open the TUI through the ``certlab.faces`` entry point (the engine never imports it)."""
    from importlib.metadata import entry_points

    found = [ep for ep in entry_points(group="certlab.faces") if ep.name == "tui"]
    if not found:
        raise CliError("the certlab TUI is not installed: run `pip install -e .`")
    run = found[0].load()
    if not sys.stdout.isatty() and not screen.get("force"):
        raise CliError("the app needs a terminal; use a subcommand (certlab --help) in scripts")
    screen.pop("force", None)
    return int(run(settings_from(args), **screen) or 0)
