"""certlab's engine: content, exams, labs, checks, clusters and the progress store.

Nothing in this package imports Textual or the ``tui`` package; the TUI and the CLI are thin
faces over it.
"""

from __future__ import annotations


def version() -> str:
    """certlab's version, read from the installed distribution's metadata."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("certlab")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
