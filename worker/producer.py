"""Submitting articles: admit each payload to the ledger, enqueue a chain per batch of
articles (by task name: no task module, no stage library is imported here), optionally wait."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from config import Settings
from worker.delivery import chain
from worker.delivery.ledger import DeadEntry, Ledger
from worker.delivery.protocol import ORDINARY, Ref
from worker.ingest import Submission

if TYPE_CHECKING:
    from celery import Celery


@dataclass
class Submitted:
    """What ``submit`` did: the ids it enqueued (with their submission) and skipped."""

    queued: dict[str, str] = field(default_factory=dict)  # id -> submission
    duplicates: list[str] = field(default_factory=list)


def submit(
    items: Iterable[Submission],
    settings: Settings,
    *,
    force: bool = False,
    chunk: int = 200,
    on_progress: Callable[[int], None] = lambda n: None,
    ledger: Ledger | None = None,
    depth_first: bool = True,
) -> Submitted:
    """Enqueue every item not already processed (all of them with ``force``), on the broker
    and queue of ``settings``. ``ledger``: one to reuse (a long-lived caller's, e.g. the fetch
    task's), else a new one. (``depth_first=False``: every stage's task alike, which only
    ``newsworker bench`` asks for, to compare.)"""
    from worker.celery_app import app

    ledger = ledger or Ledger(settings)
    done = Submitted()
    pending: list[Submission] = []

    def flush() -> None:
        ids = [s.id for s in pending]
        states = ledger.states(ids)
        fresh: dict[str, Submission] = {}
        for sub, state in zip(pending, states, strict=True):
            if sub.id in done.queued or sub.id in fresh or (state is not None and not force):
                done.duplicates.append(sub.id)
            else:
                fresh[sub.id] = sub
        submission = uuid.uuid4().hex if force else ORDINARY
        if force:
            ledger.forget(list(fresh))
        refs = [Ref(s.id, s.kind, submission) for s in fresh.values()]
        ledger.admit(zip(refs, (s.payload for s in fresh.values()), strict=True))
        chain.enqueue(
            app, refs, batch_size=settings.batch_size, queue=settings.queue, producer=publisher,
            depth_first=depth_first,
        )  # fmt: skip
        done.queued.update((s.id, submission) for s in fresh.values())
        on_progress(len(pending))
        pending.clear()

    with _publisher(app, settings) as publisher:
        for item in items:
            pending.append(item)
            if len(pending) >= chunk:
                flush()
        if pending:
            flush()
    return done


@contextmanager
def _publisher(app: Celery, settings: Settings) -> Iterator[Any]:
    """A producer on the broker of ``settings``: one of the app's pool when that is the app's
    broker (a caller that submits often, such as the fetch task, reuses its connections:
    a new one costs ~4 ms of CPU), else one on a connection of its own."""
    if settings.effective_broker_url == app.conf.broker_url:
        with app.producer_or_acquire() as publisher:
            yield publisher
        return
    with app.connection_for_write(settings.effective_broker_url) as connection:
        yield app.amqp.Producer(connection)


def wait(
    queued: dict[str, str],
    settings: Settings,
    *,
    timeout: float | None = None,
    poll: float = 2.0,
    on_progress: Callable[[int], None] = lambda n: None,
) -> Counter[str]:
    """Block until every queued article has landed; count them by outcome.

    Outcomes: ``processed``, ``dead``, and ``pending`` for those still in flight at the timeout.
    The landings are announced on a channel (``Keys.landed``, a message per batch): this listens
    to it, and asks the articles' states once at the start (those that landed before), after a
    lost connection (a Redis restart loses messages) and every ``poll`` seconds besides.
    """
    ledger = Ledger(settings)
    waiting = dict(queued)
    outcome: Counter[str] = Counter()
    deadline = None if timeout is None else time.monotonic() + timeout

    def settle(landings: Iterable[tuple[str, str]]) -> None:
        landed = 0
        for article_id, state in landings:
            where, _, submission = state.partition(":")
            if waiting.get(article_id) == submission:
                outcome[where] += 1
                landed += 1
                del waiting[article_id]
        if landed:
            on_progress(landed)

    pubsub = None
    asked = -float("inf")  # when the states were last asked
    while waiting:
        try:
            if pubsub is None:
                pubsub = ledger.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(ledger.keys.landed)
                asked = -float("inf")  # subscribed now: what landed before, from the states
            if time.monotonic() - asked >= poll:
                settle(_states(ledger, list(waiting)))
                asked = time.monotonic()
            if not waiting:
                break
            left = poll if deadline is None else min(poll, deadline - time.monotonic())
            message = pubsub.get_message(timeout=max(0.0, left))
            if message is not None:
                settle((str(i), str(state)) for i, state in json.loads(message["data"]))
        except (redis.ConnectionError, redis.TimeoutError):
            if pubsub is not None:
                pubsub.close()
            pubsub = None  # Redis is restarting: subscribe and ask again
            time.sleep(min(poll, 0.5))
        if waiting and deadline is not None and time.monotonic() > deadline:
            outcome["pending"] += len(waiting)
            break
    if pubsub is not None:
        pubsub.close()
    return outcome


def _states(ledger: Ledger, ids: list[str]) -> Iterator[tuple[str, str]]:
    """(id, state) of those of ``ids`` that landed (states asked 1,000 at a time)."""
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        for article_id, state in zip(chunk, ledger.states(chunk), strict=True):
            if state is not None:
                yield article_id, state


def retry_dead(ledger: Ledger, entries: list[DeadEntry], settings: Settings) -> int:
    """Submit these dead letters again, with their original payloads, and remove them; how
    many were queued (what ``retry-dead`` and ``POST /dead-letters/{entry}/retry`` do)."""
    entries = [e for e in entries if not e.truncated]  # a cut payload is not the article
    ledger.forget([e.id for e in entries])
    # A URL that failed to fetch is fetched again; a source (stage watch) is polled by watch.
    fetches = [e for e in entries if e.stage == "fetch"]
    items = [
        Submission(e.id, e.kind, e.payload, f"dead:{e.entry_id}")  # type: ignore[arg-type]
        for e in entries
        if e.stage not in ("fetch", "watch")
    ]
    done = submit(items, settings)
    if fetches:
        from worker.celery_app import app
        from worker.fetch.pending import Pending

        pending = Pending(settings, ledger.redis, app)
        for entry in fetches:
            pending.send(json.loads(entry.payload)["url"])
    ledger.remove_dead([e.entry_id for e in entries])
    return len(done.queued) + len(fetches)
