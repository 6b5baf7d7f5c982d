"""Recovering articles whose task message was lost.

Late acknowledgement re-queues the messages of a worker that dies, but kombu's Redis transport
pops a message before it records it as unacknowledged: a worker killed in that instant takes
the message with it. The ledger keeps every article's payload until it lands, and notes when a
task of it last started (``Ledger.take``); an article that made no progress for a whole
visibility timeout while its queue stood empty has no message left anywhere (a running task
would have started within the time limit, a retry within half the visibility timeout — see
``worker.delivery.policy.retry_delay`` —, a restorable message would be back in the queue), so
the sweeper enqueues its chain again. A duplicate is harmless: landing is idempotent per
article and submission. The sweeper moves ids, never payloads: it asks whether a payload is
still there, and the re-enqueued messages carry only Refs.

A whole visibility timeout is the wait when messages may still be somewhere. When there can be
none — the queue empty, kombu's ``unacked`` empty, and no live worker holding a message
(``nw:held:*``: prefetched, waiting for a retry's ETA, or running) — every article still in
flight has lost its message (a Redis restart can drop the one a worker's BRPOP was taking as
the server went down), so those idle for ``ORPHAN_IDLE`` seconds (a producer publishes within
milliseconds of admitting) are enqueued again at once. The sweeper looks every ``EVERY``
seconds at most.

Other queues' producers keep their own notes and bring their own sweeps (``also``): the fetch
queue's is :meth:`worker.fetch.pending.Pending.sweep`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import redis
import structlog

from config import Settings
from worker.delivery.ledger import Keys, Ledger
from worker.delivery.protocol import Ref

log = structlog.get_logger("worker.delivery.sweeper")

Enqueue = Callable[[list[Ref]], None]
Sweep = Callable[[redis.Redis], int]

ORPHAN_IDLE = 10.0
EVERY = 5.0
UNACKED = "unacked"  # kombu's Redis transport's hash of the messages taken, not acknowledged


def sweep(ledger: Ledger, settings: Settings, broker: redis.Redis, enqueue: Enqueue) -> int:
    """Enqueue again the stalled articles (in batches), if the queue (every priority of it) is
    empty; return how many."""
    with broker.pipeline(transaction=False) as pipe:
        for name in Keys(settings).queue_lists:
            pipe.llen(name)
        pipe.hlen(UNACKED)
        *queued, unacked = pipe.execute()
        if any(queued):
            return 0
    idle: float = settings.visibility_timeout
    if not unacked and not ledger.holds_any():
        idle = ORPHAN_IDLE  # no message anywhere: what is in flight lost its message
    stalled = ledger.stalled(idle)
    landed = ledger.landed(stalled)
    kept = ledger.have_payloads(stalled)
    again: list[Ref] = []
    for ref, done, payload in zip(stalled, landed, kept, strict=True):
        if done:
            ledger.settle(ref)
        elif not payload:
            ledger.dead_letter(ref, stage="clean", reason="payload not found (expired)")
        else:
            ledger.touch(ref)
            again.append(ref)
    if again:
        enqueue(again)
        log.warning("stalled_articles_requeued", count=len(again))
    return len(again)


def start(ledger: Ledger, enqueue: Enqueue, also: Sequence[Sweep] = ()) -> threading.Thread | None:
    """Sweep every few seconds in a daemon thread, one worker at a time (a Redis lock).

    Only with a Redis broker: RabbitMQ hands a message out only with its acknowledgement due.
    """
    settings = ledger.settings
    if not settings.redis_broker:
        return None
    broker = redis.Redis.from_url(settings.broker_url) if settings.broker_url else ledger.redis
    every = min(settings.restore_interval, EVERY)

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(every):
            try:
                if ledger.redis.set(ledger.keys.sweeper_lock, "1", nx=True,
                                    ex=max(1, int(every) - 1)):  # fmt: skip
                    sweep(ledger, settings, broker, enqueue)
                    for other in also:
                        other(broker)
            except redis.RedisError as exc:
                log.warning("sweep_failed", error=str(exc))

    thread = threading.Thread(target=loop, name="newsworker-sweeper", daemon=True)
    thread.start()
    return thread
