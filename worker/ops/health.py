"""Health checks: can this process reach the broker, Redis and each configured sink?

A worker answers them on ``/healthz`` (:mod:`worker.ops.exporter`): HTTP 200 with each check's
result when all pass, 503 when one fails. ``newsworker health`` runs the same checks.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from config import Settings

TIMEOUT = 5.0


def check_broker(settings: Settings) -> None:
    from kombu import Connection

    with Connection(settings.effective_broker_url, connect_timeout=TIMEOUT) as conn:
        conn.ensure_connection(max_retries=1, timeout=TIMEOUT)
        conn.default_channel  # noqa: B018 - opens a channel: the broker accepts us


def check_redis(settings: Settings) -> None:
    import redis

    client = redis.Redis.from_url(
        settings.effective_redis_url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
    )
    try:
        client.ping()
    finally:
        client.close()


def check_jsonl(settings: Settings) -> None:
    folder = Path(settings.jsonl_path).resolve().parent
    if not folder.is_dir():
        folder.mkdir(parents=True, exist_ok=True)
    target = Path(settings.jsonl_path)
    if not os.access(target if target.exists() else folder, os.W_OK):
        raise PermissionError(f"cannot write {target}")


def check_postgres(settings: Settings) -> None:
    import psycopg

    with psycopg.connect(settings.postgres_dsn, connect_timeout=int(TIMEOUT)) as conn:
        conn.execute("SELECT 1")


SINK_CHECKS: dict[str, Callable[[Settings], None]] = {
    "redis": check_redis,
    "jsonl": check_jsonl,
    "postgres": check_postgres,
}


def checks(settings: Settings) -> dict[str, Callable[[Settings], None]]:
    """The checks for these settings: broker, redis, then ``sink:NAME`` for each sink."""
    out = {"broker": check_broker, "redis": check_redis}
    for name in settings.sink_names:
        out[f"sink:{name}"] = SINK_CHECKS[name]
    return out


def run(settings: Settings) -> tuple[bool, dict[str, dict[str, object]]]:
    """Run every check; (all passed, {check: {"ok", "seconds", "error"?}})."""
    results: dict[str, dict[str, object]] = {}
    for name, check in checks(settings).items():
        start = time.perf_counter()
        try:
            check(settings)
            results[name] = {"ok": True}
        except Exception as exc:
            results[name] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}
        results[name]["seconds"] = round(time.perf_counter() - start, 3)
    return all(r["ok"] for r in results.values()), results


def wait_ready(
    probes: dict[str, Callable[[], bool]],
    alive: Callable[[], bool],
    timeout: float = 180,
    every: float = 0.5,
) -> list[str]:
    """Poll each probe until all answer (or a child dies, or ``timeout``); the names of
    those that never answered (empty: all ready)."""
    waiting = dict(probes)
    deadline = time.monotonic() + timeout
    while waiting and alive() and time.monotonic() < deadline:
        for name, probe in list(waiting.items()):
            try:
                if probe():
                    del waiting[name]
            except Exception:
                pass
        if waiting:
            time.sleep(every)
    return list(waiting)


def worker_answers(settings: Settings, node: str) -> Callable[[], bool]:
    """A probe: the Celery worker ``node`` answers a ping on the broker."""
    from celery import Celery

    app = Celery(broker=settings.effective_broker_url)
    return lambda: bool(app.control.ping(destination=[node], timeout=1))


def http_answers(url: str) -> Callable[[], bool]:
    """A probe: ``url`` answers 200 (Flower's open /healthcheck, the API's health)."""
    import urllib.request

    def probe() -> bool:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200

    return probe
