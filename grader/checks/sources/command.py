"""``type: command`` — run a command in the workspace and capture what it did.

The command runs without a shell, in its own process group, with the workspace as its working
directory; the whole group is killed on timeout or cancel. ``python``/``python3`` as the first
word mean the grader's own interpreter.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO, Any

from grader.checks.sources.base import Cancelled, SourceContext, SourceError, number, substitute

MAX_OUTPUT = 1024 * 1024
POLL_S = 0.1
PYTHON_NAMES = frozenset({"python", "python3"})


def load(spec: dict[str, Any], ctx: SourceContext) -> dict[str, Any]:
    """``{exit_code, stdout, stderr, json, timed_out}`` of ``spec["run"]``."""
    argv = argv_of(spec.get("run"), ctx)
    timeout = number(spec, "timeout", 60, low=0.1, high=3600)
    stdin = spec.get("stdin")
    if stdin is not None and not isinstance(stdin, str):
        stdin = json.dumps(stdin)
    result = run(argv, ctx, timeout=timeout, stdin=stdin, env=spec.get("env"))
    if result.timed_out:
        tail = _tail(result.stderr)
        raise SourceError(
            f"command timed out after {timeout:g} s: {shlex.join(argv_display(argv))}"
            + (f"\nits last error output:\n{tail}" if tail else "")
        )
    return {
        "exit_code": result.exit_code,
        "stdout": result.stdout,
        "stderr": result.stderr,
        "json": parse_json_output(result.stdout),
        "timed_out": False,
        "truncated": result.truncated,
        "duration_s": round(result.duration_s, 3),
    }


def argv_of(run_field: Any, ctx: SourceContext) -> list[str]:
    """The argv of a ``run``/``start`` field: a list, or a string split like a shell would."""
    if isinstance(run_field, str):
        try:
            argv = shlex.split(run_field)
        except ValueError as exc:
            raise SourceError(f"cannot split the command {run_field!r}: {exc}") from exc
    elif isinstance(run_field, Sequence) and not isinstance(run_field, bytes):
        argv = [str(item) for item in run_field]
    else:
        raise SourceError("the check's command source needs `run` (a list of words)")
    if not argv or not argv[0]:
        raise SourceError("the check's command is empty")
    argv = [str(substitute(word, ctx)) for word in argv]
    if argv[0] in PYTHON_NAMES:
        argv[0] = sys.executable
    return argv


def argv_display(argv: list[str]) -> list[str]:
    """argv as the learner wrote it (the grader's interpreter shown as ``python``)."""
    return ["python", *argv[1:]] if argv and argv[0] == sys.executable else argv


class Result:
    """What a finished (or killed) command left behind."""

    def __init__(self) -> None:
        self.exit_code: int | None = None
        self.stdout = ""
        self.stderr = ""
        self.timed_out = False
        self.truncated = False
        self.duration_s = 0.0


def run(
    argv: list[str],
    ctx: SourceContext,
    *,
    timeout: float,
    stdin: str | None = None,
    env: Mapping[str, Any] | None = None,
) -> Result:
    """Run ``argv`` in the workspace; kill its process group on timeout or cancel."""
    if ctx.cancelled():
        raise Cancelled(shlex.join(argv_display(argv)))
    shown = shlex.join(argv_display(argv))
    if not ctx.workspace.is_dir():
        raise SourceError(f"the workspace {ctx.workspace} does not exist")
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=ctx.workspace,
            env=environment(env, ctx),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise SourceError(f"command not found: {argv_display(argv)[0]}") from exc
    except PermissionError as exc:
        raise SourceError(f"cannot run {argv_display(argv)[0]}: permission denied") from exc
    except OSError as exc:
        raise SourceError(f"cannot run {shown}: {exc.strerror or exc}") from exc
    out, err = _Capture(proc.stdout), _Capture(proc.stderr)
    feeder = None
    if stdin is not None:
        feeder = threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True)
        feeder.start()
    result = Result()
    deadline = started + timeout
    cancelled = False
    try:
        while True:
            try:
                proc.wait(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                pass
            if ctx.cancelled():
                cancelled = True
                break
            if time.monotonic() >= deadline:
                result.timed_out = True
                break
    finally:
        if proc.returncode is None:
            kill_group(proc)
        elif not result.timed_out:
            _kill_leftovers(proc)
    out.join()
    err.join()
    if feeder is not None:
        feeder.join(timeout=1)
    result.duration_s = time.monotonic() - started
    result.stdout, result.stderr = out.text(), err.text()
    result.truncated = out.truncated or err.truncated
    result.exit_code = None if result.timed_out or cancelled else proc.returncode
    if cancelled:
        raise Cancelled(shown)
    return result


def environment(extra: Mapping[str, Any] | None, ctx: SourceContext) -> dict[str, str]:
    """The grader's environment plus the check's ``env`` (values made strings)."""
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "true")
    if extra is None:
        return env
    if not isinstance(extra, Mapping):
        raise SourceError("the check's source field `env` must be a mapping")
    for key, value in extra.items():
        env[str(key)] = "" if value is None else str(substitute(value, ctx))
    return env


def kill_group(proc: subprocess.Popen[Any], grace: float = 2.0) -> None:
    """SIGTERM the process's group, then SIGKILL it if it is still there after ``grace``."""
    _signal_group(proc, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=grace)
    _signal_group(proc, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):  # an unkillable process is left
        proc.wait(timeout=5)


def _kill_leftovers(proc: subprocess.Popen[Any]) -> None:
    """Kill background children a finished command left in its group (they hold the pipes)."""
    _signal_group(proc, signal.SIGKILL)


def _signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _feed(pipe: IO[bytes] | None, text: str) -> None:
    if pipe is None:
        return
    try:
        pipe.write(text.encode())
    except (BrokenPipeError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError):
            pipe.close()


class _Capture:
    """Read a pipe on a thread, keeping the first MAX_OUTPUT bytes and draining the rest."""

    def __init__(self, pipe: IO[bytes] | None) -> None:
        self._chunks: list[bytes] = []
        self._kept = 0
        self.truncated = False
        self._thread = threading.Thread(target=self._read, args=(pipe,), daemon=True)
        self._thread.start()

    def _read(self, pipe: IO[bytes] | None) -> None:
        if pipe is None:
            return
        with pipe:
            while chunk := pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536):
                room = MAX_OUTPUT - self._kept
                if room > 0:
                    self._chunks.append(chunk[:room])
                    self._kept += min(room, len(chunk))
                if len(chunk) > room:
                    self.truncated = True

    def join(self) -> None:
        self._thread.join(timeout=5)

    def text(self) -> str:
        return b"".join(self._chunks).decode("utf-8", errors="replace")


def parse_json_output(stdout: str) -> Any:
    """stdout parsed as JSON, or None when it is not JSON."""
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None


def _tail(text: str, lines: int = 10) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])
