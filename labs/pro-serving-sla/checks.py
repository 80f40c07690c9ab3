"""Ground truth for the lab pro-serving-sla.

setup trains a 3-class logistic regression on ``make_classification`` data generated from the
lab's seed and exports it to ``model.onnx`` (float32 input ``input`` of shape [None, 8], no
ZipMap). The grader refits the very same model (deterministic) as its reference and draws
hidden request rows from ``np.random.default_rng([seed, 7])`` at check time; nothing expected
is stored.

``probe(ctx)`` starts the learner's ``serve.py`` once on a free loopback port and, in that one
lifetime: checks /healthz, compares /predict answers with the reference, scrapes /metrics
before and after a counted burst of requests, and sends a few malformed requests. The result
is cached for the checks of one run (keyed on the workspace's code and model, for 60 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

N_FEATURES = 8
N_CLASSES = 3
N_TRAIN = 1500
HIDDEN_ROWS = 200
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
HISTOGRAM = "predict_latency_seconds"
COUNTER = "predict_requests"  # exposed as predict_requests_total{code="..."}
BURST = 100
BAD_REQUESTS = 3
PROBA_ATOL = 1e-4
READY_TIMEOUT = 20.0
REQUEST_TIMEOUT = 5.0


class LabCheckError(Exception):
    """The learner's work cannot be graded; the message says why."""


def _fail(message: str) -> Any:
    try:
        from grader.checks.sources.base import SourceError
    except ImportError:  # used outside certlab
        raise LabCheckError(message) from None
    raise SourceError(message)


# the model -----------------------------------------------------------------------------------


def training_data(seed: int) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=N_TRAIN,
        n_features=N_FEATURES,
        n_informative=5,
        n_redundant=1,
        n_classes=N_CLASSES,
        n_clusters_per_class=1,
        random_state=seed,
    )


_models: dict[int, Any] = {}


def reference_model(ctx: Any) -> Any:
    """The fitted scikit-learn model that model.onnx was exported from."""
    seed = int(ctx.seed)
    if seed not in _models:
        from sklearn.linear_model import LogisticRegression

        X, y = training_data(seed)
        _models[seed] = LogisticRegression(max_iter=1000).fit(X, y)
    return _models[seed]


def hidden_rows(ctx: Any) -> Any:
    """Request rows the learner never sees: drawn around the training distribution."""
    import numpy as np

    X, _ = training_data(int(ctx.seed))
    rng = np.random.default_rng([int(ctx.seed), 7])
    rows = rng.standard_normal((HIDDEN_ROWS, N_FEATURES)) * X.std(axis=0) + X.mean(axis=0)
    return np.round(rows, 6)  # what JSON carries is exactly what the reference sees


def setup(ctx: Any) -> None:
    """Export model.onnx and write a sample request into the workspace."""
    import numpy as np
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LogisticRegression

    ws = Path(ctx.workspace)
    model = reference_model(ctx)
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, N_FEATURES]))],
        target_opset={"": 17, "ai.onnx.ml": 3},
        options={LogisticRegression: {"zipmap": False}},
    )
    (ws / "model.onnx").write_bytes(onx.SerializeToString())
    X, _ = training_data(int(ctx.seed))
    rng = np.random.default_rng([int(ctx.seed), 3])
    sample = X[rng.choice(len(X), size=3, replace=False)].round(4).tolist()
    (ws / "sample_request.json").write_text(json.dumps({"instances": sample}, indent=2) + "\n")


def solve(ctx: Any) -> None:
    """Nothing to run: the solution is serve.py itself."""


# talking to the learner's server -------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Server:
    def __init__(self, ws: Path, port: int) -> None:
        env = dict(os.environ)
        env.update(PYTHONUNBUFFERED="1", PORT=str(port))
        self.err = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "serve.py", "--port", str(port)],
            cwd=ws,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.err,
            stderr=self.err,
            start_new_session=True,
        )
        self.port = port

    def wait_ready(self, cancel: Any) -> str:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if cancel is not None and cancel.is_set():
                return "cancelled"
            if self.proc.poll() is not None:
                return _short(f"serve.py exited (code {self.proc.returncode}): {self.tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return "ok"
            time.sleep(0.05)
        return f"serve.py did not listen on port {self.port} within {READY_TIMEOUT:g} s"

    def tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self.err.seek(0)
            lines = self.err.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1] if lines else "no output"
        return "no output"

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
        with contextlib.suppress(OSError):
            self.err.close()


def _request(port: int, method: str, path: str, body: Any = None) -> tuple[int | None, str, Any]:
    """(status, text, parsed JSON or None); status None with the reason as text on failure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        text = response.read(4 * 1024 * 1024).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {exc}", None
    finally:
        conn.close()
    parsed = None
    with contextlib.suppress(ValueError):
        parsed = json.loads(text)
    return response.status, text, parsed


def _short(text: str, limit: int = 56) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# metrics ---------------------------------------------------------------------------------------


def _scrape(port: int) -> tuple[dict[str, Any] | None, str]:
    """The parsed /metrics exposition as {families: {name: {type, samples}}}, or a reason."""
    status, text, _ = _request(port, "GET", "/metrics")
    if status is None:
        return None, _short(f"GET /metrics failed: {text}")
    if status != 200:
        return None, f"GET /metrics answered {status}"
    try:
        from prometheus_client.parser import text_string_to_metric_families

        families = {
            f.name: {
                "type": f.type,
                "samples": [(s.name, dict(s.labels), float(s.value)) for s in f.samples],
            }
            for f in text_string_to_metric_families(text)
        }
    except Exception as exc:
        return None, _short(f"/metrics is not Prometheus text: {exc}")
    return {"families": families}, "ok"


def _histogram(metrics: dict[str, Any]) -> dict[str, Any]:
    family = metrics["families"].get(HISTOGRAM)
    if family is None:
        names = sorted(metrics["families"])
        return {"found": _short(f"no {HISTOGRAM}; metrics: {', '.join(names) or 'none'}")}
    buckets = sorted(
        float(labels["le"])
        for name, labels, _ in family["samples"]
        if name == f"{HISTOGRAM}_bucket" and "le" in labels
    )
    names = {name for name, _, _ in family["samples"]}
    expected = [*BUCKETS, math.inf]
    return {
        "found": "ok",
        "type": family["type"],
        "bucket": f"{HISTOGRAM}_bucket" in names,
        "sum": f"{HISTOGRAM}_sum" in names,
        "count": f"{HISTOGRAM}_count" in names,
        "buckets": "ok"
        if buckets == expected
        else _short("le = " + ", ".join("+Inf" if math.isinf(b) else f"{b:g}" for b in buckets)),
    }


def _value(metrics: dict[str, Any] | None, family: str, sample: str, **labels: str) -> float:
    """The sum of ``sample`` values in ``family`` whose labels include ``labels``."""
    if metrics is None or family not in metrics["families"]:
        return math.nan
    found = [
        v
        for name, lab, v in metrics["families"][family]["samples"]
        if name == sample and all(lab.get(k) == w for k, w in labels.items())
    ]
    return sum(found) if found else math.nan


def _delta(before: float, after: float, want: int, what: str) -> str:
    if math.isnan(after):
        return f"no {what}"
    got = after - (0.0 if math.isnan(before) else before)
    return "ok" if abs(got - want) < 1e-9 else f"{what} grew by {got:g}, expected {want}"


# the probe -------------------------------------------------------------------------------------


def _correctness(port: int, ctx: Any) -> str:
    import numpy as np

    rows = hidden_rows(ctx)
    model = reference_model(ctx)
    want_labels = model.predict(rows)
    want_proba = model.predict_proba(rows)
    batches = [(rows, want_labels, want_proba)]
    batches += [(rows[i : i + 1], want_labels[i : i + 1], want_proba[i : i + 1]) for i in range(5)]
    for x, labels, proba in batches:
        status, text, body = _request(port, "POST", "/predict", {"instances": x.tolist()})
        where = f"{len(x)}-row request"
        if status is None:
            return _short(f"{where}: {text}")
        if status != 200:
            return _short(f"{where} answered {status}: {text}")
        if not isinstance(body, dict):
            return _short(f"{where}: the answer is not a JSON object")
        preds, probs = body.get("predictions"), body.get("probabilities")
        if not isinstance(preds, list) or len(preds) != len(x):
            return _short(f"{where}: `predictions` is not a list of {len(x)}")
        if not isinstance(probs, list) or len(probs) != len(x):
            return _short(f"{where}: `probabilities` is not a list of {len(x)}")
        if not all(isinstance(p, int) and not isinstance(p, bool) for p in preds):
            return _short(f"{where}: predictions must be integers, got {preds[0]!r}")
        try:
            got = np.asarray(probs, dtype=float)
        except (TypeError, ValueError):
            return _short(f"{where}: probabilities are not lists of numbers")
        if got.shape != proba.shape:
            return _short(
                f"{where}: probabilities shape {list(got.shape)}, expected {list(proba.shape)}"
            )
        wrong = int(np.sum(np.asarray(preds) != labels))
        if wrong:
            return f"{where}: {wrong} of {len(x)} predictions wrong"
        diff = float(np.max(np.abs(got - proba)))
        if diff > PROBA_ATOL:
            return f"{where}: probabilities off by up to {diff:.3g}"
    return "ok"


def _bad_bodies() -> list[Any]:
    return [
        {"rows": [[0.0] * N_FEATURES]},
        {"instances": [[0.0] * (N_FEATURES - 3)]},
        {"instances": "not a list"},
    ]


def _probe(ctx: Any) -> dict[str, Any]:
    ws = Path(ctx.workspace)
    if not (ws / "serve.py").is_file():
        _fail("there is no serve.py in the workspace")
    cancel = getattr(ctx, "cancel", None)
    server = _Server(ws, _free_port())
    doc: dict[str, Any] = {}
    try:
        doc["started"] = server.wait_ready(cancel)
        if doc["started"] != "ok":
            return doc
        port = server.port
        status, text, _ = _request(port, "GET", "/healthz")
        doc["healthz"] = (
            "ok"
            if status == 200 and text.strip() == "ok"
            else _short(f"GET /healthz answered {status}: {text}")
        )
        doc["correct"] = _correctness(port, ctx)
        before, reason = _scrape(port)
        doc["metrics"] = reason
        ok = 0
        client_s = 0.0  # what the burst took, seen from the client
        sizes = (1, 2, 5, 1, 10)
        rows = hidden_rows(ctx)
        for i in range(BURST):
            size = sizes[i % len(sizes)]
            start = (i * 7) % (len(rows) - size)
            body = {"instances": rows[start : start + size].tolist()}
            t0 = time.perf_counter()
            status, _, _ = _request(port, "POST", "/predict", body)
            client_s += time.perf_counter() - t0
            ok += status == 200
            if status is None:  # a hanging or dead server: do not wait 100 timeouts
                break
        doc["burst_ok"] = ok
        after, reason = _scrape(port)
        if doc["metrics"] == "ok":
            doc["metrics"] = reason
        bad_status = []
        for body in _bad_bodies():
            status, _, _ = _request(port, "POST", "/predict", body)
            bad_status.append(status)
            if status is None:
                break
        doc["bad_status"] = bad_status
        final, _ = _scrape(port)
        if before is not None and after is not None:
            doc["histogram"] = _histogram(after)
            doc["growth"] = {
                "histogram_count": _delta(
                    _value(before, HISTOGRAM, f"{HISTOGRAM}_count"),
                    _value(after, HISTOGRAM, f"{HISTOGRAM}_count"),
                    BURST,
                    f"{HISTOGRAM}_count",
                ),
                "requests_200": _delta(
                    _value(before, COUNTER, f"{COUNTER}_total", code="200"),
                    _value(after, COUNTER, f"{COUNTER}_total", code="200"),
                    BURST,
                    'predict_requests_total{code="200"}',
                ),
            }
            doc["latency_sane"] = _sane_latency(before, after, client_s / BURST)
        if after is not None and final is not None:
            doc["errors_counted"] = _delta(
                _value(after, COUNTER, f"{COUNTER}_total", code="400"),
                _value(final, COUNTER, f"{COUNTER}_total", code="400"),
                BAD_REQUESTS,
                'predict_requests_total{code="400"}',
            )
    finally:
        server.stop()
    return doc


def _sane_latency(before: dict[str, Any], after: dict[str, Any], client_mean: float) -> str:
    """The burst's mean observed latency must be positive seconds, below what the client saw.

    The server's handling time is part of the client's round trip, so (with slack for clock
    granularity) it cannot exceed it; milliseconds or microseconds recorded as seconds do.
    """
    count = _value(after, HISTOGRAM, f"{HISTOGRAM}_count") - _value(
        before, HISTOGRAM, f"{HISTOGRAM}_count"
    )
    total = _value(after, HISTOGRAM, f"{HISTOGRAM}_sum") - _value(
        before, HISTOGRAM, f"{HISTOGRAM}_sum"
    )
    if math.isnan(count) or math.isnan(total) or count <= 0:
        return "nothing observed"
    mean = total / count
    if mean <= 0:
        return "the observed latencies sum to 0"
    if mean > 1.5 * client_mean + 0.005:
        return _short(f"mean {mean:.3g} s, but requests took {client_mean:.3g} s: not seconds?")
    return "ok"


_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_lock = threading.Lock()


def _key(ctx: Any) -> str:
    ws = Path(ctx.workspace)
    digest = hashlib.sha256(str(ws).encode())
    for path in sorted(ws.rglob("*")):
        if path.is_file() and (path.suffix in (".py", ".onnx", ".json", ".yaml", ".txt")):
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(ws)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def probe(ctx: Any) -> dict[str, Any]:
    """Everything the python checks need from one lifetime of the learner's server."""
    key = _key(ctx)
    with _lock:
        hit = _cache.get(key)
        if hit and time.monotonic() - hit[0] < 60:
            return hit[1]
        doc = _probe(ctx)
        cancel = getattr(ctx, "cancel", None)
        if not (cancel is not None and cancel.is_set()):
            _cache.clear()
            _cache[key] = (time.monotonic(), doc)
        return doc
