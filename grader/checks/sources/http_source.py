"""``type: http`` — send N requests to a loopback endpoint, optionally starting the server first.

Fields: ``start`` (argv launching the learner's server from the workspace; ``{port}`` becomes a
free loopback port, also exported as ``PORT``), ``url`` (loopback only; default
``http://127.0.0.1:{port}/`` with ``start``), ``method`` (GET, or POST when ``json`` is given),
``json`` (a body, or a list of bodies cycled across requests — wrap a list body in a list),
``headers``, ``requests`` (1..2000), ``rate`` (requests per second, paced), ``concurrency``,
``timeout`` (per request, s), ``ready_timeout`` (s), ``env``, ``count_by`` (a JSON field, dotted,
or ``header:Name``; gives ``counts``).

Document: ``{status_codes, ok, failed, requests, errors, latency_ms: {p50, p95, p99, max, mean},
bodies (at most 50), body, text, headers, counts, duration_s, rps}``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlsplit

from grader.checks.sources.base import (
    Cancelled,
    SourceContext,
    SourceError,
    number,
    substitute,
)
from grader.checks.sources.command import argv_of, environment, kill_group

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
MAX_BODIES = 50
MAX_BODY_BYTES = 1024 * 1024
MAX_ERRORS = 50


@dataclass
class _Target:
    scheme: str
    host: str
    port: int
    path: str
    url: str


@dataclass
class _Answer:
    status: int | None = None
    latency_ms: float | None = None
    text: str | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    refused: bool = False


def load(spec: dict[str, Any], ctx: SourceContext) -> dict[str, Any]:
    """Send the requests and summarise the answers."""
    requests = int(number(spec, "requests", 1, low=1, high=2000))
    rate = spec.get("rate")
    if rate is not None:
        rate = number(spec, "rate", 1, low=0.01, high=10000)
    concurrency = int(number(spec, "concurrency", 8 if rate else 1, low=1, high=64))
    timeout = number(spec, "timeout", 5, low=0.05, high=300)
    ready_timeout = number(spec, "ready_timeout", 15, low=0.1, high=600)
    bodies = _bodies(spec)
    method = str(spec.get("method") or ("POST" if bodies else "GET")).upper()
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise SourceError("the check's http source field `headers` must be a mapping")
    headers = {str(k): str(substitute(v, ctx)) for k, v in headers.items()}
    if bodies:
        headers.setdefault("Content-Type", "application/json")
    start = spec.get("start")
    port = free_port() if start else None
    url = spec.get("url") or ("http://127.0.0.1:{port}/" if start else None)
    if not isinstance(url, str):
        raise SourceError("the check's http source needs `url`")
    target = parse_url(_with_port(substitute(url, ctx), port))
    server = None
    if start:
        argv = [_with_port(word, port) for word in argv_of(start, ctx)]
        env = {str(k): _with_port(str(v), port) for k, v in (spec.get("env") or {}).items()}
        env.setdefault("PORT", str(port))
        server = _Server(argv, ctx, env)
    try:
        if server is not None:
            server.wait_ready(target, ready_timeout)
        answers, duration = _send_all(
            target, ctx, method, headers, bodies, requests, rate, concurrency, timeout
        )
        if server is not None and all(a.error for a in answers) and server.exited():
            raise SourceError(f"the server exited while being tested{server.stderr_tail()}")
    finally:
        if server is not None:
            server.stop()
    if all(a.refused for a in answers):
        raise SourceError(f"nothing is listening at {target.url} (connection refused)")
    return _summary(answers, duration, spec.get("count_by"))


def parse_url(url: str) -> _Target:
    """A loopback http(s) URL split into its parts; anything else is refused."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise SourceError(f"unsupported URL {url!r}: use http://127.0.0.1:PORT/...")
    host = (parts.hostname or "").lower()
    if host not in LOOPBACK:
        raise SourceError(
            f"refusing to send requests to {parts.hostname or url!r}: the grader only calls "
            "this machine (127.0.0.1, localhost or [::1])"
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise SourceError(f"invalid port in URL {url!r}") from exc
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return _Target(parts.scheme, host, port, path, url.strip())


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_port(text: str, port: int | None) -> str:
    return text.replace("{port}", str(port)) if port is not None else text


def _bodies(spec: dict[str, Any]) -> list[bytes]:
    if "json" not in spec:
        return []
    value = spec["json"]
    items = value if isinstance(value, list) and value else [value]
    try:
        return [json.dumps(item).encode() for item in items]
    except (TypeError, ValueError) as exc:
        raise SourceError(f"the check's http `json` body cannot be encoded: {exc}") from exc


class _Server:
    """The learner's server, in its own process group, output kept in temporary files."""

    def __init__(self, argv: list[str], ctx: SourceContext, env: dict[str, str]) -> None:
        self.ctx = ctx
        self.argv = argv
        self._out: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
        try:
            self.proc = subprocess.Popen(
                argv,
                cwd=ctx.workspace,
                env=environment(env, ctx),
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            self._close()
            raise SourceError(f"cannot start the server: command not found: {argv[0]}") from exc
        except OSError as exc:
            self._close()
            raise SourceError(f"cannot start the server: {exc.strerror or exc}") from exc

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def wait_ready(self, target: _Target, ready_timeout: float) -> None:
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.ctx.cancelled():
                raise Cancelled("the server")
            if self.proc.poll() is not None:
                raise SourceError(
                    f"the server exited (code {self.proc.returncode}) before it accepted "
                    f"connections{self.stderr_tail()}"
                )
            try:
                with socket.create_connection((target.host, target.port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() >= deadline:
                raise SourceError(
                    f"the server did not accept connections on port {target.port} within "
                    f"{ready_timeout:g} s{self.stderr_tail()}"
                )
            time.sleep(0.05)

    def stderr_tail(self, lines: int = 15) -> str:
        text = ""
        for handle in (self._err, self._out):
            try:
                handle.flush()
                handle.seek(0, 2)
                size = handle.tell()
                handle.seek(max(0, size - 8192))
                text = handle.read().decode("utf-8", errors="replace").strip()
            except (OSError, ValueError):
                text = ""
            if text:
                break
        if not text:
            return ""
        return "; its output ends with:\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        kill_group(self.proc)
        self._close()

    def _close(self) -> None:
        for handle in (self._out, self._err):
            with contextlib.suppress(OSError):
                handle.close()


def _send_all(
    target: _Target,
    ctx: SourceContext,
    method: str,
    headers: dict[str, str],
    bodies: list[bytes],
    count: int,
    rate: float | None,
    concurrency: int,
    timeout: float,
) -> tuple[list[_Answer], float]:
    answers: list[_Answer | None] = [None] * count
    lock = threading.Lock()
    next_index = [0]
    started = time.monotonic()

    def take() -> int | None:
        with lock:
            if next_index[0] >= count:
                return None
            next_index[0] += 1
            return next_index[0] - 1

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            while (i := take()) is not None:
                if rate:
                    due = started + i / rate
                    while (wait := due - time.monotonic()) > 0:
                        if ctx.cancelled():
                            return
                        time.sleep(min(wait, 0.1))
                if ctx.cancelled():
                    return
                body = bodies[i % len(bodies)] if bodies else None
                conn, answers[i] = _request(conn, target, method, headers, body, timeout)
        finally:
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(min(concurrency, count))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if ctx.cancelled():
        raise Cancelled(f"requests to {target.url}")
    done = [a if a is not None else _Answer(error="not sent") for a in answers]
    return done, time.monotonic() - started


def _connect(target: _Target, timeout: float) -> http.client.HTTPConnection:
    if target.scheme == "https":
        import ssl

        context = ssl._create_unverified_context()  # loopback only: a self-signed cert is fine
        return http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=context
        )
    return http.client.HTTPConnection(target.host, target.port, timeout=timeout)


def _request(
    conn: http.client.HTTPConnection | None,
    target: _Target,
    method: str,
    headers: dict[str, str],
    body: bytes | None,
    timeout: float,
) -> tuple[http.client.HTTPConnection | None, _Answer]:
    """One request, retried once when a reused keep-alive connection was closed under us."""
    for attempt in (1, 2):
        reused = conn is not None
        if conn is None:
            conn = _connect(target, timeout)
        t0 = time.perf_counter()
        try:
            conn.request(method, target.path, body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read(MAX_BODY_BYTES + 1)
            if len(raw) > MAX_BODY_BYTES:
                raw = raw[:MAX_BODY_BYTES]
                conn.close()
                conn = None
            latency = (time.perf_counter() - t0) * 1000
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
            if conn is not None:
                conn.close()
            conn = None
            if reused and attempt == 1:
                continue
            return None, _Answer(error=f"{type(exc).__name__}: {exc}")
        except (OSError, http.client.HTTPException) as exc:
            if conn is not None:
                conn.close()
            refused = isinstance(exc, ConnectionRefusedError)
            reason = "timed out" if isinstance(exc, TimeoutError) else str(exc)
            return None, _Answer(error=f"{type(exc).__name__}: {reason}", refused=refused)
        text = raw.decode("utf-8", errors="replace")
        answer = _Answer(
            status=response.status,
            latency_ms=latency,
            text=text,
            body=_parse_body(text, response.getheader("Content-Type", "")),
            headers={k.lower(): v for k, v in response.getheaders()},
        )
        return conn, answer
    raise AssertionError("unreachable")  # pragma: no cover


def _parse_body(text: str, content_type: str) -> Any:
    stripped = text.strip()
    if "json" in content_type.lower() or stripped[:1] in ("{", "["):
        try:
            return json.loads(stripped)
        except (json.JSONDecodeError, RecursionError):
            return text
    return text


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile ``q`` (0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _summary(answers: list[_Answer], duration: float, count_by: Any) -> dict[str, Any]:
    answered = [a for a in answers if a.status is not None]
    latencies = [a.latency_ms for a in answered if a.latency_ms is not None]

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    errors = [a.error for a in answers if a.error]
    first = answered[0] if answered else None
    doc: dict[str, Any] = {
        "requests": len(answers),
        "status_codes": [a.status for a in answered],
        "ok": sum(1 for a in answered if 200 <= (a.status or 0) < 300),
        "failed": len(errors),
        "errors": errors[:MAX_ERRORS],
        "latency_ms": {
            "p50": rounded(percentile(latencies, 50)),
            "p95": rounded(percentile(latencies, 95)),
            "p99": rounded(percentile(latencies, 99)),
            "max": rounded(max(latencies) if latencies else None),
            "mean": rounded(sum(latencies) / len(latencies) if latencies else None),
        },
        "bodies": [a.body for a in answered[:MAX_BODIES]],
        "body": first.body if first else None,
        "text": first.text if first else None,
        "headers": first.headers if first else {},
        "duration_s": round(duration, 3),
        "rps": round(len(answered) / duration, 3) if duration > 0 else None,
    }
    if count_by is not None:
        doc["counts"] = _counts(answered, str(count_by))
    return doc


def _counts(answers: list[_Answer], key: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for answer in answers:
        if key.lower().startswith("header:"):
            value: Any = answer.headers.get(key.split(":", 1)[1].strip().lower())
        else:
            value = answer.body
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        label = "null" if value is None else value if isinstance(value, str) else json.dumps(value)
        counts[label] = counts.get(label, 0) + 1
    return counts
