"""Submitting articles: store each payload, enqueue a chain per batch of articles, optionally
wait."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import redis

from config import Settings
from worker.ingest import Submission
from worker.store import ORDINARY, Store


@dataclass
class Submitted:
    """What ``submit`` did: the ids it enqueued (with their submission token) and skipped."""

    queued: dict[str, str] = field(default_factory=dict)  # id -> token
    duplicates: list[str] = field(default_factory=list)


def submit(
    items: Iterable[Submission],
    settings: Settings,
    *,
    force: bool = False,
    chunk: int = 200,
    on_progress: Callable[[int], None] = lambda n: None,
    store: Store | None = None,
) -> Submitted:
    """Enqueue every item not already processed (all of them with ``force``), on the broker
    and queue of ``settings``. ``store``: one to reuse (a long-lived caller's, e.g. the fetch
    task's), else a new one."""
    from worker.celery_app import app
    from worker.tasks import enqueue

    store = store or Store(settings)
    connection = app.connection_for_write(settings.effective_broker_url)
    publisher = app.amqp.Producer(connection)
    done = Submitted()
    pending: list[Submission] = []

    def flush() -> None:
        ids = [s.id for s in pending]
        states = store.states(ids)
        fresh: dict[str, Submission] = {}
        for sub, state in zip(pending, states, strict=True):
            if sub.id in done.queued or sub.id in fresh or (state is not None and not force):
                done.duplicates.append(sub.id)
            else:
                fresh[sub.id] = sub
        token = uuid.uuid4().hex if force else ORDINARY
        if force:
            store.forget(list(fresh))
        store.put_payloads((s.id, s.kind, token, s.payload) for s in fresh.values())
        enqueue([(s.id, s.kind, token) for s in fresh.values()], settings, publisher)
        done.queued.update((s.id, token) for s in fresh.values())
        on_progress(len(pending))
        pending.clear()

    with connection:
        for item in items:
            pending.append(item)
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()
    return done


def wait(
    queued: dict[str, str],
    settings: Settings,
    *,
    timeout: float | None = None,
    poll: float = 0.5,
    on_progress: Callable[[int], None] = lambda n: None,
) -> Counter[str]:
    """Block until every queued article has landed; count them by outcome.

    Outcomes: ``processed``, ``dead``, and ``pending`` for those still in flight at the timeout.
    """
    store = Store(settings)
    waiting = dict(queued)
    outcome: Counter[str] = Counter()
    deadline = None if timeout is None else time.monotonic() + timeout
    while waiting:
        ids = list(waiting)
        landed = 0
        for i in range(0, len(ids), 1000):
            chunk = ids[i : i + 1000]
            try:
                states = store.states(chunk)
            except (redis.ConnectionError, redis.TimeoutError):
                break  # Redis is restarting: ask again at the next poll
            for article_id, state in zip(chunk, states, strict=True):
                if state is None:
                    continue
                where, _, token = state.partition(":")
                if token == waiting[article_id]:
                    outcome[where] += 1
                    landed += 1
                    del waiting[article_id]
        on_progress(landed)
        if waiting:
            if deadline is not None and time.monotonic() > deadline:
                outcome["pending"] += len(waiting)
                break
            time.sleep(poll)
    return outcome
