"""Alerts end to end: real worker, real Redis, a loopback webhook receiver that fails its first
two calls and is then down for 10 s — each match arrives exactly once, signed."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from conftest import Worker, namespace, newsworker, settings_overrides

from config import Settings
from worker.alerts.webhook import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify
from worker.delivery.ledger import Keys, connect

SECRET = "webhook-secret-for-the-tests"
# The clean stage wants 80 characters at least: a neutral second sentence.
NOTE = (
    " Об этом сообщается в пресс-релизе, опубликованном в понедельник утром на официальном сайте."
)

ARTICLES = {
    "genitive": "Глава Газпрома Алексей Миллер заявил о новых поставках газа в Европу." + NOTE,
    "legal": "Акции ПАО «Газпром» выросли на Московской бирже после отчёта компании." + NOTE,
    "bank": "Газпромбанк выдал кредит застройщику в Санкт-Петербурге." + NOTE,
    "sanctions": "Евросоюз пригрозил России новыми санкциями из-за Украины." + NOTE,
    "weather": "В Москве ожидается снег, сообщили синоптики." + NOTE,
}


class Receiver:
    """A webhook receiver on loopback: answers 500 to its first two calls, then is down (its
    port closed) for ``down`` seconds, then accepts; keeps every call it answered 2xx."""

    def __init__(self, down: float = 10.0) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.down = down
        self.calls: list[tuple[int, dict[str, str], bytes]] = []  # (status, headers, body)
        self.lock = threading.Lock()
        self.down_until = 0.0
        self._server: ThreadingHTTPServer | None = None
        self._start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def accepted(self) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for status, h, b in self.calls if status == 200]

    def _start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    failing = len(receiver.calls) < 2
                    status = 500 if failing else 200
                    receiver.calls.append((status, dict(self.headers), body))
                    go_down = len(receiver.calls) == 2
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if go_down:
                    threading.Thread(target=receiver._outage, daemon=True).start()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.allow_reuse_address = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def _outage(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()  # connections refused from now on
        self.down_until = time.monotonic() + self.down
        time.sleep(self.down)
        for _ in range(50):
            try:
                self._start()
                return
            except OSError:
                time.sleep(0.1)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def test_each_match_reaches_the_webhook_exactly_once_signed(tmp_path):
    receiver = Receiver(down=10)
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps(
            [
                {
                    "id": "gazprom",
                    "match": {"entity": "Газпром", "type": "ORG"},
                    "webhook": receiver.url,
                    "secret": SECRET,
                },
                {
                    "id": "sanctions",
                    "match": {"keyword": "санкция"},
                    "webhook": receiver.url,
                    "secret": SECRET,
                },
            ]
        ),
        encoding="utf-8",
    )
    env = namespace(alerts_file=rules, alert_retries=8)
    settings = Settings(**settings_overrides({**os.environ, **env}))
    articles = tmp_path / "articles.jsonl"
    with open(articles, "w", encoding="utf-8") as fh:
        for name, text in ARTICLES.items():
            fh.write(json.dumps({"id": f"w-{name}", "text": text, "source": "test.ru"}) + "\n")
    expected = {"gazprom:w-genitive", "gazprom:w-legal", "sanctions:w-sanctions"}

    worker = Worker(tmp_path / "worker.log", concurrency=2, env=env).start()
    try:
        started = time.monotonic()
        done = newsworker("submit", str(articles), "--wait", "--timeout", "120", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["processed"] == len(ARTICLES)
        while time.monotonic() - started < 120:
            if len(receiver.accepted()) >= len(expected):
                break
            time.sleep(0.5)
        took = time.monotonic() - started
        # Processed again (--force): the matches are not sent again.
        again = newsworker(
            "submit", str(articles), "--force", "--wait", "--timeout", "120", env=env
        )
        assert again.returncode == 0, again.stderr
        time.sleep(5)
    finally:
        worker.stop()
        receiver.stop()

    failed = [c for c in receiver.calls if c[0] != 200]
    assert len(failed) == 2  # the two calls it failed; the outage refused connections
    accepted = receiver.accepted()
    keys = [h[IDEMPOTENCY_HEADER] for h, _ in accepted]
    assert sorted(keys) == sorted(expected), (keys, worker.tail())  # each exactly once
    assert took > 10  # the receiver's outage was waited out
    for headers, body in accepted:
        assert verify(SECRET, body, headers[SIGNATURE_HEADER])
        match = json.loads(body)
        assert match["delivery"] == headers[IDEMPOTENCY_HEADER]
        assert match["article"]["id"] == match["delivery"].split(":", 1)[1]
    # A retried call carries the same key as the failed one it repeats.
    failed_keys = {c[1][IDEMPOTENCY_HEADER] for c in failed}
    assert failed_keys <= expected
    # The stream `alerts` has each match once; the ledger has them sent.
    client = connect(settings)
    keys_ = Keys(settings)
    stream = client.xrange(keys_.alerts)
    assert sorted(f"{f[b'rule'].decode()}:{f[b'article'].decode()}" for _, f in stream) == sorted(
        expected
    )
    for key in expected:
        rule, article = key.split(":", 1)
        assert client.get(keys_.alert_ledger(rule, article)) == b"sent"
