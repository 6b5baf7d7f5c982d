"""In JSON mode every line a worker and Flower write is a JSON object: no Celery banner, no
tornado or kombu lines of their own format, shutdown notices included."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import SAMPLE, Worker, namespace, newsworker

from config import Settings
from worker.embedded import flower_command


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _not_json(path: Path) -> list[str]:
    bad = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            assert isinstance(json.loads(line), dict)
        except (ValueError, AssertionError):
            bad.append(line)
    return bad


def test_worker_logs_only_json_lines(tmp_path):
    env = namespace(log_format="json")
    worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
    try:
        out = newsworker("submit", str(SAMPLE), "--wait", "--timeout", "120", env=env)
        assert json.loads(out.stdout)["processed"] == 1, out.stderr + worker.tail()
    finally:
        worker.stop()  # warm shutdown: Celery's notices
    text = worker.log.read_text(errors="replace")
    assert "delivered" in text and "Warm shutdown" in text
    assert _not_json(worker.log) == []


def test_flower_logs_only_json_lines(tmp_path):
    port = _free_port()
    env = {**os.environ, **namespace(log_format="json", flower_port=port)}
    env["NEWSWORKER_FLOWER_BASIC_AUTH"] = "admin:pw"
    settings = Settings(flower_port=port, flower_basic_auth="admin:pw")
    cmd, extra = flower_command(settings)
    log = tmp_path / "flower.log"
    with open(log, "wb") as out:
        flower = subprocess.Popen(
            cmd, env={**env, **extra}, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        auth = "Basic " + base64.b64encode(b"admin:pw").decode()
        for _ in range(120):
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/workers")
                request.add_header("Authorization", auth)
                urllib.request.urlopen(request, timeout=5).read()
                break
            except OSError:
                time.sleep(0.25)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workers", timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
        with socket.create_connection(("127.0.0.1", port)) as s:  # tornado logs this itself
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            s.recv(1024)
        time.sleep(0.5)
    finally:
        flower.send_signal(signal.SIGTERM)
        flower.wait(30)
    text = log.read_text(errors="replace")
    assert "Visit me at" in text and "Malformed HTTP" in text, text
    assert _not_json(log) == []
