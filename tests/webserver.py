"""A real HTTP server on loopback for the fetching tests: routes of static answers, a few
misbehaving ones, conditional GET, and an access log (time, Host, path) to check politeness.

Used as a context manager: ``with WebServer() as web: web.route("/a", body=b"...")``; URLs are
``web.url("/a")`` (host 127.0.0.1) or ``web.url("/a", host="localhost")`` (a second host
name for the same server).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Handler = Callable[[http.server.BaseHTTPRequestHandler], None]


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True  # answer If-None-Match with 304


@functools.cache
def gzip_bomb() -> bytes:
    """50 MB of zeros in about 50 KB."""
    return gzip.compress(b"\0" * 50_000_000, 6)


class WebServer:
    def __init__(self) -> None:
        self.routes: dict[str, Answer | Handler] = {}
        self.log: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        web = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                with web.lock:
                    web.log.append((time.time(), self.headers.get("Host", ""), self.path))
                route = web.routes.get(self.path.split("?", 1)[0])
                if route is None:
                    route = Answer(404, b"not found")
                if callable(route):
                    route(self)
                    return
                headers = dict(route.headers)
                etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
                if route.etag and route.status == 200:
                    headers.setdefault("ETag", etag)
                    if self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                self.send_response(route.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, body: bytes | str = b"", status: int = 200, **headers: str):
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Answer(
            status, data, {k.replace("_", "-"): v for k, v in headers.items()}
        )

    def hits(self, path: str) -> int:
        with self.lock:
            return sum(1 for _, _, p in self.log if p.split("?", 1)[0] == path)

    # -- misbehaving routes ------------------------------------------------------------
    def add_faults(self) -> None:
        self.routes["/never-ends"] = self._never_ends
        self.routes["/big"] = self._big
        self.routes["/bomb"] = Answer(
            200, gzip_bomb(), {"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )
        self.route("/loop-a", status=302, Location="/loop-b")
        self.route("/loop-b", status=302, Location="/loop-a")

    def _never_ends(self, h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")  # no length: the body ends when the server does
        h.end_headers()
        h.close_connection = True
        for _ in range(600):  # a byte every 0.1 s, for at most a minute
            if self.stopping.is_set():
                return
            try:
                h.wfile.write(b"<")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    def _big(self, h: http.server.BaseHTTPRequestHandler) -> None:
        """50 MB, sent without a Content-Length (chunks until the client hangs up)."""
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Connection", "close")
        h.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(50_000_000 // len(chunk)):
                h.wfile.write(chunk)
        except OSError:
            return
        h.close_connection = True
