"""Polling a source until its check's assertion holds (and keeps holding).

A source spec may carry ``wait: SECONDS`` (poll every 0.5 s for up to that long) or
``poll: {timeout, interval, hold}``: keep reloading the document until the assertion holds,
then, with ``hold``, until it has held continuously for ``hold`` seconds. The runner calls
:func:`poll_document` in place of ``load_document``; a spec without ``wait``/``poll`` loads
once, exactly as before. A source error during polling fails at once (an API server that
stops answering is never a pass), except :class:`ObjectMissing` (the object is not created
yet), which is retried until the timeout.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from grader.checks.sources.base import Cancelled, SourceContext, SourceError

POLL_KEYS = ("wait", "poll")
DEFAULT_INTERVAL = 0.5


@dataclass(frozen=True)
class Poll:
    """How long to wait for the assertion, how often to look, how long it must hold."""

    timeout: float
    interval: float = DEFAULT_INTERVAL
    hold: float = 0.0


def _seconds(value: Any, field: str, low: float, high: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or math.isnan(value) or not low <= value <= high:
        raise SourceError(f"the check's source field `{field}` must be seconds in [{low}, {high}]")
    return float(value)


def poll_settings(spec: Mapping[str, Any]) -> Poll | None:
    """The polling asked for by ``spec`` (None: load once)."""
    wait, poll = spec.get("wait"), spec.get("poll")
    if poll is None:
        if wait in (None, 0):
            return None
        return Poll(timeout=_seconds(wait, "wait", 0, 3600))
    if not isinstance(poll, Mapping):
        raise SourceError("the check's source field `poll` must be {timeout, interval, hold}")
    unknown = set(poll) - {"timeout", "interval", "hold"}
    if unknown:
        raise SourceError(f"unknown `poll` field(s): {', '.join(sorted(map(str, unknown)))}")
    timeout = poll.get("timeout", wait if wait is not None else 30)
    return Poll(
        timeout=_seconds(timeout, "poll.timeout", 0, 3600),
        interval=_seconds(poll.get("interval", DEFAULT_INTERVAL), "poll.interval", 0.05, 60),
        hold=_seconds(poll.get("hold", 0), "poll.hold", 0, 3600),
    )


def poll_document(
    spec: Mapping[str, Any],
    ctx: SourceContext,
    load: Callable[[Mapping[str, Any], SourceContext], Any],
    holds: Callable[[Any], bool],
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """The document of ``spec``, polled per its ``wait``/``poll`` settings.

    ``load`` is ``load_document``; ``holds(document)`` says whether the check's assertion
    holds. Returns the first document that held for ``hold`` seconds, else the last one seen
    (the caller's assertion then reports what is wrong). An assertion that raises (a malformed
    ``expect`` tree) stops polling at once and returns that document.
    """
    if not isinstance(spec, Mapping):
        return load(spec, ctx)
    settings = poll_settings(spec)
    plain = {k: v for k, v in spec.items() if k not in POLL_KEYS}
    if settings is None:
        return load(plain, ctx)
    from grader.cluster.sources import ObjectMissing

    deadline = clock() + settings.timeout
    held_since: float | None = None
    while True:
        if ctx.cancelled():
            raise Cancelled(f"the {spec.get('type', '')} source".replace("  ", " "))
        try:
            document = load(plain, ctx)
        except ObjectMissing:
            if clock() >= deadline:
                raise
            sleep(settings.interval)
            continue
        try:
            ok = bool(holds(document))
        except Exception:
            return document
        now = clock()
        if ok:
            held_since = now if held_since is None else held_since
            if now - held_since >= settings.hold:
                return document
        else:
            held_since = None
            if now >= deadline:
                return document
        sleep(settings.interval)
