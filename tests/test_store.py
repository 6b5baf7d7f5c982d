"""Landing states, dead letters and the in-flight ledger in Redis: one place per article."""

from __future__ import annotations

import time
import uuid

from worker import sweeper
from worker.store import ORDINARY


def test_an_article_lands_in_exactly_one_place(store):
    aid = f"s-{uuid.uuid4().hex}"
    store.put_payloads([(aid, "json", ORDINARY, b"payload")])
    store.put_docs("clean", [(aid, ORDINARY, '{"id": "x"}')])
    assert store.docs("clean", [(aid, "json", ORDINARY)]) == [b'{"id": "x"}']
    assert store.mark_processed([(aid, "json", ORDINARY)]) == [True]
    assert store.docs("clean", [(aid, "json", ORDINARY)]) == [None]  # freed when it landed
    assert store.mark_processed([(aid, "json", ORDINARY)]) == [False]
    # A stale redelivery that fails afterwards does not dead-letter a processed article.
    assert store.dead_letter(aid, ORDINARY, stage="entities", reason="x", kind="json") is False
    assert store.landed([(aid, "json", ORDINARY)]) == [True]
    assert store.payloads([(aid, "json", ORDINARY)]) == [None]  # freed when it landed
    assert aid not in {a for a, *_ in store.stalled(idle=-60)}


def test_dead_letter_keeps_the_payload_once(store):
    aid = f"d-{uuid.uuid4().hex}"
    store.put_payloads([(aid, "text", ORDINARY, b"\xff\xfe not utf-8")])
    store.put_docs("entities", [(aid, ORDINARY, "{}")])
    assert store.dead_letter(aid, ORDINARY, stage="clean", reason="bad", kind="text") is True
    assert store.docs("entities", [(aid, "text", ORDINARY)]) == [None]
    assert store.dead_letter(aid, ORDINARY, stage="clean", reason="bad", kind="text") is False
    assert store.mark_processed([(aid, "text", ORDINARY)]) == [False]
    [entry] = [e for e in store.dead_entries() if e.id == aid]
    assert (entry.stage, entry.reason, entry.kind) == ("clean", "bad", "text")
    assert entry.payload == b"\xff\xfe not utf-8"
    assert aid not in {a for a, *_ in store.stalled(idle=-60)}
    # --force (a new token) may land it again.
    assert store.mark_processed([(aid, "text", "forced")]) == [True]


def test_sweeper_requeues_stalled_articles_only_when_the_queue_is_empty(store, settings):
    settings = settings.model_copy(update={"queue": f"sweeper-{uuid.uuid4().hex}"})  # no worker
    names = ("stalled", "busy", "expired", "landed")
    stalled, busy, expired, landed = (f"{n}-{uuid.uuid4().hex}" for n in names)
    store.put_payloads([(a, "json", ORDINARY, b"{}") for a in (stalled, busy, expired)])
    store.redis.delete(store.payload_key(expired, ORDINARY))  # as if its TTL ran out
    store.put_payloads([(landed, "json", ORDINARY, b"{}")])
    store.mark_processed([(landed, "json", ORDINARY)])
    # A duplicate submission stored the payload again after the first copy had landed.
    store.put_payloads([(landed, "json", ORDINARY, b"{}")])
    long_ago = time.time() - settings.visibility_timeout - 10
    for a in (stalled, expired, landed):
        store.redis.zadd(store.inflight_key, {f"json:{ORDINARY}:{a}": long_ago})
    store.task_started("delivery-1", [(busy, "json", ORDINARY)])  # busy made progress just now

    queue = store.redis
    queued: list[list[tuple[str, str, str]]] = []
    queue.rpush(settings.queue, b"a message still waiting")
    assert sweeper.sweep(store, settings, queue, queued.append) == 0
    queue.delete(settings.queue)

    assert sweeper.sweep(store, settings, queue, queued.append) == 1
    assert queued == [[(stalled, "json", ORDINARY)]]
    assert [d.reason for d in store.dead_entries() if d.id == expired] == [
        "payload not found (expired)"
    ]
    assert store.payloads([(landed, "json", ORDINARY)]) == [None]
    assert landed not in {a for a, *_ in store.stalled(idle=-60)}
    # Touched when re-enqueued: not swept again before another visibility timeout.
    assert sweeper.sweep(store, settings, queue, queued.append) == 0
    store.mark_processed([(stalled, "json", ORDINARY)])
    store.mark_processed([(busy, "json", ORDINARY)])


def test_a_forced_submission_keeps_its_payload_when_the_earlier_one_lands(store):
    aid = f"f-{uuid.uuid4().hex}"
    store.put_payloads([(aid, "json", ORDINARY, b"first")])
    store.put_payloads([(aid, "json", "forced", b"again")])  # --force while the first is in flight
    assert store.mark_processed([(aid, "json", ORDINARY)]) == [True]
    assert store.payloads([(aid, "json", ORDINARY), (aid, "json", "forced")]) == [None, b"again"]
    assert store.mark_processed([(aid, "json", "forced")]) == [True]
