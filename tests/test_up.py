"""`newsworker up` on the embedded Redis and PostgreSQL: submit, consume, query the API, see the
tasks in Flower, Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request

from conftest import BIN, SAMPLE, json_lines, newsworker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, auth: str) -> object:
    request = urllib.request.Request(url)
    request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def test_up_runs_the_whole_stack_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {
        "NEWSWORKER_REDIS_URL": "",  # the embedded Redis
        "NEWSWORKER_HOME": str(tmp_path / "home"),
        "NEWSWORKER_FLOWER_PORT": str(port),
        "NEWSWORKER_FLOWER_BASIC_AUTH": "admin:s3cret",
        "NEWSWORKER_CONCURRENCY": "1",
        "NEWSWORKER_POSTGRES_DSN": "",  # the embedded PostgreSQL
        "NEWSWORKER_SINKS": "redis,postgres",
        "NEWSWORKER_API_PORT": str(_free_port()),
    }
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115 - outlives the block below
    up = subprocess.Popen(
        [str(BIN / "newsworker"), "up"], env={**os.environ, **env}, stdout=log, stderr=log
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        for _ in range(360):  # `up` says "ready" once the worker, Flower and the API answer
            assert up.poll() is None, (tmp_path / "up.log").read_text()
            if "ready    submit with" in (tmp_path / "up.log").read_text(errors="replace"):
                break
            time.sleep(0.5)
        # So all answer at once, no retry: Flower's API, the worker through it, the API.
        workers = _get(f"{api}/workers?refresh=1", "admin:s3cret")
        assert workers, (tmp_path / "up.log").read_text()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck", timeout=5) as r:
            assert r.read() == b"OK"  # open, documented, on loopback
        health = f"http://127.0.0.1:{env['NEWSWORKER_API_PORT']}/health"
        with urllib.request.urlopen(health, timeout=5) as r:
            assert r.status == 200
        assert (tmp_path / "home" / "redis.sock").exists()

        done = newsworker("submit", str(SAMPLE), "--wait", "--timeout", "120", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["processed"] == 1
        [record] = json_lines(newsworker("consume", env=env).stdout)
        assert record["title"] == "Президенты поговорили о Корее"

        # The query store has it, and the API (token generated in the home) answers.
        token = (tmp_path / "home" / "api-token").read_text().strip()
        request = urllib.request.Request(
            f"http://127.0.0.1:{env['NEWSWORKER_API_PORT']}/articles?"
            + urllib.parse.urlencode({"q": "Трамп"}),
            headers={"Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            [article] = json.loads(response.read())["items"]
        assert article["id"] == record["id"] and article["title"] == record["title"]

        tasks: dict = {}
        for _ in range(40):
            tasks = _get(f"{api}/tasks", "admin:s3cret")  # type: ignore[assignment]
            if sum(t["state"] == "SUCCESS" for t in tasks.values()) == 5:
                break
            time.sleep(0.5)
        names = sorted(t["name"] for t in tasks.values() if t["state"] == "SUCCESS")
        assert names == sorted(
            [
                "newsworker.clean",
                "newsworker.entities",
                "newsworker.summarize",
                "newsworker.group",
                "newsworker.deliver",
            ]
        )
        assert all(record["id"] in t["args"] for t in tasks.values())
        # Without credentials Flower refuses.
        try:
            urllib.request.urlopen(f"{api}/tasks", timeout=5)
            raise AssertionError("Flower answered without credentials")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    finally:
        up.send_signal(signal.SIGINT)
        code = up.wait(60)
        log.close()
    text = (tmp_path / "up.log").read_text()
    assert code == 0, text
    for name in ("api", "flower", "fetch", "worker", "postgres", "redis"):
        assert f"stopped  {name}" in text
    assert not (tmp_path / "home" / "redis.sock").exists()
    # Appendonly persistence: the data directory holds the append-only file.
    assert any(p.name.startswith("appendonly") for p in (tmp_path / "home").iterdir())
