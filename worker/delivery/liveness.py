"""Workers' heartbeats, and giving back the messages of a worker that is gone.

kombu's Redis transport keeps a message a worker took (prefetched or running, acknowledged
only after the task ran) in ``unacked`` until the visibility timeout (default 1 h) runs out —
the only way it learns that the worker died. So each worker also says, in the ledger, that it
lives (``nw:workers``, a heartbeat every ``BEAT`` s) and which messages it holds
(``nw:held:{worker}``, from the moment its main process receives one until the task returns).
Every ``BEAT`` s one live worker looks for workers silent for ``SILENT`` s and puts their held
messages back on their queues (kombu's own ``restore_by_tag``), so a dead worker's articles
are running again within ``SILENT + BEAT`` s (35 s) of its death. A worker that is alive beats
from a thread of its main process, whatever its pool is running, so a long batch of a live
worker is never given to a second one. A judge only judges after it has itself beaten without a
gap for ``SILENT`` s, so that after a Redis outage (when no one could beat) nobody is taken for
dead. The visibility timeout stays as the last resort.

A worker whose broker connection was lost has dropped the messages it had prefetched (kombu
cannot acknowledge them on a new connection): when it reconnects it gives them back itself
(``give_back``), but for those its pool is still running.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import redis
import structlog
from celery import Celery

from worker.delivery.ledger import Ledger

log = structlog.get_logger("worker.delivery.liveness")

BEAT = 5.0
SILENT = 30.0


def restore(app: Celery, tags: Iterable[str]) -> int:
    """Put these messages (by delivery tag) back on their queues from ``unacked``."""
    tags = list(tags)
    if tags:
        with app.connection_for_write() as connection:
            qos = connection.default_channel.qos
            for tag in tags:
                qos.restore_by_tag(tag)
    return len(tags)


def give_back(app: Celery, ledger: Ledger, worker: str, keep: set[str]) -> int:
    """Give back the messages ``worker`` holds but for the tasks in ``keep`` (running)."""
    held = {task: tag for task, tag in ledger.holdings(worker).items() if task not in keep}
    n = restore(app, held.values())
    ledger.let_go(worker, held)
    return n


def judge(app: Celery, ledger: Ledger, me: str) -> int:
    """Give back the messages of every worker gone silent; how many."""
    given = 0
    for worker in ledger.gone(SILENT):
        if worker == me:
            continue
        n = give_back(app, ledger, worker, keep=set())
        ledger.forget_worker(worker)
        log.warning("worker_gone", worker=worker, messages_given_back=n)
        given += n
    return given


def start(app: Celery, ledger: Ledger, me: str) -> threading.Thread:
    """Beat, and judge when it is this worker's turn, every ``BEAT`` s in a daemon thread."""

    def loop() -> None:
        since: float | None = None  # when this worker's beats began without a gap
        while True:
            try:
                ledger.beat(me)
                since = since or time.monotonic()
                if time.monotonic() - since >= SILENT and ledger.redis.set(
                    ledger.keys.liveness_lock, me, nx=True, ex=max(1, int(BEAT) - 1)
                ):
                    judge(app, ledger, me)
            except (redis.RedisError, OSError) as exc:
                since = None
                log.warning("heartbeat_failed", error=str(exc))
            time.sleep(BEAT)

    thread = threading.Thread(target=loop, name="newsworker-liveness", daemon=True)
    thread.start()
    return thread
