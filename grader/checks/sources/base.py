"""What every source shares: its context, its two failures, placeholders, paths and plain data.

A source turns a check's ``source:`` mapping into a *document* (plain JSON-like data) that an
assertion tree is matched against. When the document cannot be produced, the source raises
:class:`SourceError` with a reason a learner can act on; when the source cannot be evaluated
on this machine at all, it raises :class:`NotGradable`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any


@dataclass(frozen=True)
class SourceContext:
    """Where a source runs: the learner's workspace, the lab's folder and the lab's seed."""

    workspace: Path  # the learner's workspace (cwd for commands, base for relative paths)
    lab_dir: Path  # the lab's folder (holds checks.py)
    seed: int
    cancel: threading.Event | None = None  # set when the learner cancels; long sources stop
    capabilities: frozenset[str] = frozenset()  # e.g. {"running-containers"}

    def cancelled(self) -> bool:
        """True once the learner has asked to stop."""
        return self.cancel is not None and self.cancel.is_set()


class SourceError(Exception):
    """The document cannot be produced; ``str()`` is a learner-readable reason."""


class Cancelled(SourceError):
    """The learner cancelled the check while its source was running."""

    def __init__(self, what: str = "the check") -> None:
        super().__init__(f"cancelled while running {what}")


class NotGradable(Exception):
    """This source cannot be evaluated here (for example it needs running containers)."""


_PLACEHOLDERS = ("workspace", "lab", "seed")


def substitute(value: Any, ctx: SourceContext) -> Any:
    """Replace ``{workspace}``, ``{lab}`` and ``{seed}`` in strings, recursively.

    Other braces (``{port}``, JSON in a string) are left exactly as they are.
    """
    if isinstance(value, str):
        if "{" not in value:
            return value
        return (
            value.replace("{workspace}", str(ctx.workspace))
            .replace("{lab}", str(ctx.lab_dir))
            .replace("{seed}", str(ctx.seed))
        )
    if isinstance(value, list):
        return [substitute(item, ctx) for item in value]
    if isinstance(value, tuple):
        return tuple(substitute(item, ctx) for item in value)
    if isinstance(value, dict):
        return {key: substitute(item, ctx) for key, item in value.items()}
    return value


def resolve(path_str: str | PurePath, ctx: SourceContext) -> Path:
    """Resolve ``path_str`` against the workspace; refuse anything outside it or the lab folder.

    Symbolic links are followed before the check, so a link pointing out of the workspace is
    refused too. Raises :class:`SourceError` for an empty or escaping path.
    """
    text = str(path_str).strip() if path_str is not None else ""
    if not text:
        raise SourceError("the check names no file path")
    if "\x00" in text:
        raise SourceError(f"invalid path {text!r}")
    raw = Path(substitute(text, ctx))
    workspace = ctx.workspace.resolve()
    candidate = raw if raw.is_absolute() else workspace / raw
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops
        raise SourceError(f"cannot resolve path {text}: {exc}") from exc
    for root in (workspace, ctx.lab_dir.resolve()):
        if resolved == root or resolved.is_relative_to(root):
            return resolved
    raise SourceError(f"path {text} points outside the workspace; it must stay inside it")


def display(path: Path, ctx: SourceContext) -> str:
    """``path`` as the learner knows it: relative to the workspace where possible."""
    for root in (ctx.workspace.resolve(), ctx.lab_dir.resolve()):
        try:
            return path.relative_to(root).as_posix() or "."
        except ValueError:
            continue
    return str(path)


def require(spec: Mapping[str, Any], key: str, kind: type | tuple[type, ...] = str) -> Any:
    """``spec[key]``, which must be present and of ``kind``; else a SourceError for the author."""
    if key not in spec or spec[key] is None:
        raise SourceError(f"the check's {spec.get('type', '?')} source needs `{key}`")
    value = spec[key]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise SourceError(f"the check's source field `{key}` must be a {names}")
    return value


def number(spec: Mapping[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    """A numeric field of the spec with a default, clamped-checked to ``[low, high]``."""
    value = spec.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise SourceError(f"the check's source field `{key}` must be a number")
    if not low <= value <= high:
        raise SourceError(f"the check's source field `{key}` must be between {low} and {high}")
    return value


def jsonable(value: Any) -> Any:
    """Plain JSON-safe data: numpy/pandas scalars and arrays unwrapped, NaN and NaT to None.

    Dict keys become strings, tuples and sets become lists, dates become ISO strings, bytes
    are decoded (invalid bytes replaced). Anything else unknown becomes its ``str()``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if type(value).__name__ in {"NAType", "NaTType"}:  # pandas' missing markers
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [jsonable(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return items
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if hasattr(value, "isoformat") and callable(value.isoformat):  # pandas Timestamp
        return value.isoformat()
    if hasattr(value, "tolist") and callable(value.tolist):  # numpy scalar or array
        plain = value.tolist()
        if plain is not value:
            return jsonable(plain)
    return str(value)


def _key(key: Any) -> str:
    plain = jsonable(key)
    return plain if isinstance(plain, str) else json.dumps(plain)
