"""Health and Prometheus metrics over HTTP: /healthz, /readyz and /metrics."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, generate_latest

Readiness = Callable[[], dict[str, object]]


def serve(
    port: int, registry: CollectorRegistry, readiness: Readiness, host: str = "127.0.0.1"
) -> ThreadingHTTPServer:
    """Start the server on `host`:`port` in a daemon thread (port 0 picks a free one).

    /healthz: 200 while the process answers at all (alive). /readyz: 200 when `readiness()`
    says `ready`, else 503; the body names each failing part and its last error."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/metrics"):
                self._send(200, generate_latest(registry), "text/plain; version=0.0.4")
            elif self.path.startswith("/healthz"):
                self._send(200, b'{"alive": true}', "application/json")
            elif self.path.startswith(("/readyz", "/status")):
                report = readiness()
                self._send(
                    200 if report.get("ready") else 503,
                    json.dumps(report, default=str).encode(),
                    "application/json",
                )
            else:
                self._send(404, b"not found\n", "text/plain")

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="http-status", daemon=True).start()
    return server
