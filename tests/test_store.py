"""Landing states and dead letters in Redis: one place per article and submission."""

from __future__ import annotations

import uuid

from worker.store import ORDINARY


def test_an_article_lands_in_exactly_one_place(store):
    aid = f"s-{uuid.uuid4().hex}"
    store.put_payloads([(aid, b"payload")])
    assert store.mark_processed(aid, ORDINARY) is True
    assert store.mark_processed(aid, ORDINARY) is False
    # A stale redelivery that fails afterwards does not dead-letter a processed article.
    assert store.dead_letter(aid, ORDINARY, stage="entities", reason="x", kind="json") is False
    assert store.landed(aid, ORDINARY)
    assert store.payload(aid) is None  # freed when it landed


def test_dead_letter_keeps_the_payload_once(store):
    aid = f"d-{uuid.uuid4().hex}"
    store.put_payloads([(aid, b"\xff\xfe not utf-8")])
    assert store.dead_letter(aid, ORDINARY, stage="clean", reason="bad", kind="text") is True
    assert store.dead_letter(aid, ORDINARY, stage="clean", reason="bad", kind="text") is False
    assert store.mark_processed(aid, ORDINARY) is False
    [entry] = [e for e in store.dead_entries() if e.id == aid]
    assert (entry.stage, entry.reason, entry.kind) == ("clean", "bad", "text")
    assert entry.payload == b"\xff\xfe not utf-8"
    # --force (a new token) may land it again.
    assert store.mark_processed(aid, "forced") is True
