"""A small ONNX inference service — to finish.

    python serve.py --port 8080

Routes (the lab's tasks state every detail the grader checks):
  GET  /healthz  -> 200, body "ok"                                   (done)
  POST /predict  -> {"predictions": [...], "probabilities": [...]}   (TODO: answers 501)
  GET  /metrics  -> Prometheus text exposition                        (TODO: answers 404)

Only the standard library's http.server, onnxruntime and prometheus_client; loopback only.
"""

from __future__ import annotations

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_PATH = "model.onnx"

# TODO: load model.onnx once with onnxruntime (not per request).
# TODO: define the histogram predict_latency_seconds and the counter predict_requests.


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # no line per request
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
        else:
            # TODO: GET /metrics
            self._json(404, {"error": f"no route {self.path}"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._json(404, {"error": f"no route {self.path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        # TODO: validate the body, run the model, answer, observe the latency, count it.
        self._json(501, {"error": "POST /predict is not implemented yet"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ONNX inference service")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"listening on http://{args.host}:{args.port}", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
