"""Recovering articles whose task message was lost.

Late acknowledgement re-queues the messages of a worker that dies, but kombu's Redis transport
pops a message before it records it as unacknowledged: a worker killed in that instant takes
the message with it. The store keeps every article's payload until it lands, and notes when a
task of it last started (``Store.task_started``); an article that made no progress for a whole
visibility timeout while its queue stood empty has no message left anywhere (a running task
would have started within the time limit, a retry within half the visibility timeout, a
restorable message would be back in the queue), so the sweeper enqueues its chain again. A
duplicate is harmless: delivery is idempotent per article and submission.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import redis
import structlog

from config import Settings
from worker.store import Ref, Store

log = structlog.get_logger("worker.sweeper")

Enqueue = Callable[[list[Ref]], None]


def sweep(store: Store, settings: Settings, broker: redis.Redis, enqueue: Enqueue) -> int:
    """Enqueue again the stalled articles (in batches), if the queue is empty; return how many."""
    if broker.llen(settings.queue):
        return 0
    stalled = store.stalled(settings.visibility_timeout)
    landed = store.landed(stalled)
    payloads = store.payloads(stalled)
    again: list[Ref] = []
    for ref, done, payload in zip(stalled, landed, payloads, strict=True):
        article_id, kind, token = ref
        if done:
            store.settle(*ref)
        elif payload is None:
            store.dead_letter(
                article_id, token, stage="clean", reason="payload not found (expired)", kind=kind
            )
        else:
            store.touch(*ref)
            again.append(ref)
    if again:
        enqueue(again)
        log.warning("stalled_articles_requeued", count=len(again))
    return len(again)


def start(settings: Settings, enqueue: Enqueue) -> threading.Thread | None:
    """Sweep every few seconds in a daemon thread, one worker at a time (a Redis lock).

    Only with a Redis broker: RabbitMQ hands a message out only with its acknowledgement due.
    """
    if settings.broker_url and not settings.broker_url.startswith(("redis://", "rediss://")):
        return None
    store = Store(settings)
    broker = redis.Redis.from_url(settings.broker_url) if settings.broker_url else store.redis
    every = settings.restore_interval
    lock = settings.key("sweeper")

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(every):
            try:
                if store.redis.set(lock, "1", nx=True, ex=max(1, int(every) - 1)):
                    sweep(store, settings, broker, enqueue)
            except redis.RedisError as exc:
                log.warning("sweep_failed", error=str(exc))

    thread = threading.Thread(target=loop, name="newsworker-sweeper", daemon=True)
    thread.start()
    return thread
