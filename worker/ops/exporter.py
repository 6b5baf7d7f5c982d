"""The worker's operations endpoint: ``/metrics`` (Prometheus) and ``/healthz`` (health checks).

Started in the worker's main process when it is ready (:mod:`worker.ops.signals`), on
``NEWSWORKER_METRICS_ADDRESS:NEWSWORKER_METRICS_PORT`` (loopback by default; port 0: one the
system picks, logged as ``ops_endpoint``). No credentials: bind it where only Prometheus
reaches (the compose file: the internal network, not published).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import structlog
from prometheus_client import CollectorRegistry, make_wsgi_app, multiprocess

from config import Settings
from worker.ops import health
from worker.ops.metrics import StateCollector

log = structlog.get_logger("worker.ops")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # scrapes are not news
        pass


def registry(settings: Settings) -> CollectorRegistry:
    """Every pool process's events (multiprocess files) and the state read at scrape time."""
    reg = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(reg)
    else:  # a single process (tests, `celery worker` started by hand with -P solo)
        from prometheus_client import REGISTRY

        reg = REGISTRY
    reg.register(StateCollector(settings))
    return reg


def app(settings: Settings) -> Callable[..., Iterable[bytes]]:
    metrics = make_wsgi_app(registry(settings))

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in ("/healthz", "/health"):
            ok, results = health.run(settings)
            body = json.dumps({"ok": ok, "checks": results}).encode()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "application/json")])
            return [body]
        if path == "/metrics":
            return metrics(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"/metrics or /healthz\n"]

    return route


def start(settings: Settings) -> _Server | None:
    """Serve in a daemon thread; None (and a warning) if the port is taken."""
    try:
        server = make_server(
            settings.metrics_address, settings.metrics_port, app(settings),
            server_class=_Server, handler_class=_Quiet,
        )  # fmt: skip
    except OSError as exc:
        log.warning(
            "ops_endpoint_unavailable", address=settings.metrics_address,
            port=settings.metrics_port, error=str(exc),
        )  # fmt: skip
        return None
    host, port = server.server_address[:2]
    threading.Thread(target=server.serve_forever, name="newsworker-ops", daemon=True).start()
    log.info("ops_endpoint", url=f"http://{host}:{port}", metrics="/metrics", health="/healthz")
    return server
