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

A whole visibility timeout is the wait when messages may still be somewhere. A Redis restart
can leave two kinds of message that nothing else recovers before it: one a worker's BRPOP was
taking as the server went down (gone), and one the worker had just taken when its connection
dropped — recorded in kombu's ``unacked`` but never in the worker's ``nw:held:*``, so neither
the worker's give-back on reconnecting nor the liveness judge knows it, and kombu restores it
only after the visibility timeout. So, once the queue is empty, the sweeper also
- puts back on its queue every message of this namespace's queues that has been in ``unacked``
  for ``ORPHAN_IDLE`` seconds and that no worker holds (a live worker holds what it prefetched,
  waits for or runs; a dead one's, until judged) — a stray;
- and when no message is left anywhere (nothing of this namespace unacknowledged, no worker
  holding one), enqueues again the articles in flight for ``ORPHAN_IDLE`` seconds (a producer
  publishes within milliseconds of admitting): they lost their messages.
Either may duplicate work (a message whose task ran but could not be acknowledged while Redis
was away); landing absorbs it. The sweeper looks every ``EVERY`` seconds at most.

Other queues' producers keep their own notes and bring their own sweeps (``also``): the fetch
queue's is :meth:`worker.fetch.pending.Pending.sweep`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence

import redis
import structlog

from config import Settings
from worker.delivery.ledger import Ledger
from worker.delivery.protocol import Ref, broker_lists

log = structlog.get_logger("worker.delivery.sweeper")

Enqueue = Callable[[list[Ref]], None]
Restore = Callable[[list[str]], int]
Sweep = Callable[[redis.Redis], int]

ORPHAN_IDLE = 10.0
EVERY = 5.0
UNACKED = "unacked"  # kombu's Redis transport's hash of the messages taken, not acknowledged
UNACKED_INDEX = "unacked_index"  # and when each was taken
UNACKED_SCAN = 1000  # more unacknowledged messages than this: busy, no stray is looked for


def queue_is_empty(broker: redis.Redis, queue: str) -> bool:
    """Whether no message waits in the queue, at any priority (one round trip)."""
    with broker.pipeline(transaction=False) as pipe:
        for name in broker_lists(queue):
            pipe.llen(name)
        return not any(pipe.execute())


def unacked_ours(broker: redis.Redis, settings: Settings) -> dict[str, float] | None:
    """Delivery tag → when it was taken, of the unacknowledged messages of this namespace's
    queues (None when there are too many to look at)."""
    if broker.hlen(UNACKED) > UNACKED_SCAN:
        return None
    entries = broker.hgetall(UNACKED)
    queues = {settings.queue, settings.fetch_queue}
    ours = []
    for tag, raw in entries.items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key in queues:
            ours.append(tag)
    if not ours:
        return {}
    with broker.pipeline(transaction=False) as pipe:
        for tag in ours:
            pipe.zscore(UNACKED_INDEX, tag)
        taken = pipe.execute()
    return {t.decode(): float(at or 0) for t, at in zip(ours, taken, strict=True)}


def sweep(
    ledger: Ledger, settings: Settings, broker: redis.Redis, enqueue: Enqueue, restore: Restore
) -> int:
    """If the queue (every priority of it) is empty: put stray messages back on it, else
    enqueue again the stalled articles (in batches); return how many."""
    if not queue_is_empty(broker, settings.queue):
        return 0
    held = ledger.held_tags()
    unacked = unacked_ours(broker, settings)
    now = time.time()
    strays = [t for t, at in (unacked or {}).items() if t not in held and at < now - ORPHAN_IDLE]
    if strays:
        n = restore(strays)
        log.warning("stray_messages_restored", count=n)
        return n
    idle: float = settings.visibility_timeout
    if unacked == {} and not held:
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


def start(
    ledger: Ledger, enqueue: Enqueue, restore: Restore, also: Sequence[Sweep] = ()
) -> threading.Thread | None:
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
                    sweep(ledger, settings, broker, enqueue, restore)
                    for other in also:
                        other(broker)
            except redis.RedisError as exc:
                log.warning("sweep_failed", error=str(exc))

    thread = threading.Thread(target=loop, name="newsworker-sweeper", daemon=True)
    thread.start()
    return thread
