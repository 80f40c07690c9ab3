"""A small ONNX inference service (reference solution).

    python serve.py --port 8080

GET /healthz -> 200 "ok"; POST /predict {"instances": [[8 numbers], ...]} ->
{"predictions": [...], "probabilities": [[p0, p1, p2], ...]}; GET /metrics -> Prometheus text.
Standard library HTTP server, onnxruntime and prometheus_client only; loopback by default.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import onnxruntime as ort
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

MODEL_PATH = "model.onnx"
MAX_ROWS = 1000
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)

LATENCY = Histogram("predict_latency_seconds", "Time spent handling POST /predict", buckets=BUCKETS)
REQUESTS = Counter("predict_requests", "POST /predict requests by status code", ["code"])


def load_session(path: str) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # many small requests: no thread pool per call
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


SESSION: ort.InferenceSession | None = None
INPUT_NAME = ""
N_FEATURES = 0


class BadRequest(ValueError):
    pass


def parse_instances(raw: bytes) -> np.ndarray:
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict) or "instances" not in body:
        raise BadRequest('expected a JSON object {"instances": [[...], ...]}')
    rows = body["instances"]
    if not isinstance(rows, list) or not rows:
        raise BadRequest("`instances` must be a non-empty list of rows")
    if len(rows) > MAX_ROWS:
        raise BadRequest(f"at most {MAX_ROWS} rows per request")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != N_FEATURES:
            raise BadRequest(f"row {i} must be a list of {N_FEATURES} numbers")
        for value in row:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadRequest(f"row {i} holds a non-number: {value!r}")
            if not math.isfinite(value):
                raise BadRequest(f"row {i} holds a non-finite number")
    return np.asarray(rows, dtype=np.float32)


class Handler(BaseHTTPRequestHandler):
    server_version = "churn-serve/1.0"

    def log_message(self, format: str, *args) -> None:  # quiet: no line per request
        pass

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, payload: dict) -> None:
        self._send(code, json.dumps(payload).encode(), "application/json")

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._send(200, b"ok", "text/plain; charset=utf-8")
        elif self.path == "/metrics":
            self._send(200, generate_latest(), CONTENT_TYPE_LATEST)
        else:
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._json(404, {"error": f"no route {self.path}"})
            return
        started = time.perf_counter()
        code = 200
        try:
            length = int(self.headers.get("Content-Length") or 0)
            x = parse_instances(self.rfile.read(length))
            labels, proba = SESSION.run(None, {INPUT_NAME: x})
            payload = {
                "predictions": [int(v) for v in labels],
                "probabilities": np.asarray(proba, dtype=float).tolist(),
            }
        except BadRequest as exc:
            code, payload = 400, {"error": str(exc)}
        except Exception as exc:  # never let one request kill the service
            code, payload = 500, {"error": f"{type(exc).__name__}: {exc}"}
        self._json(code, payload)
        LATENCY.observe(time.perf_counter() - started)
        REQUESTS.labels(code=str(code)).inc()


def main(argv: list[str] | None = None) -> int:
    global SESSION, INPUT_NAME, N_FEATURES
    parser = argparse.ArgumentParser(description="ONNX inference service")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--model", default=MODEL_PATH)
    args = parser.parse_args(argv)

    SESSION = load_session(args.model)  # once, before accepting connections
    model_input = SESSION.get_inputs()[0]
    INPUT_NAME, N_FEATURES = model_input.name, int(model_input.shape[1])
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"serving {args.model} on http://{args.host}:{args.port}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
