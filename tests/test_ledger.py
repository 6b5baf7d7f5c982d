"""The ledger in Redis: landing states, dead letters, stage results and the in-flight set —
one place per article — and the sweeper over them."""

from __future__ import annotations

import json
import time
import uuid

import redis

from worker.delivery import sweeper
from worker.delivery.ledger import Ledger, inflight_member
from worker.delivery.protocol import ORDINARY, Ref


def no_strays(tags: list[str]) -> int:
    raise AssertionError(f"no stray message expected here: {tags}")


def test_an_article_lands_in_exactly_one_place(ledger):
    ref = Ref(f"s-{uuid.uuid4().hex}", "json", ORDINARY)
    ledger.admit([(ref, b"payload")])
    assert ledger.take("clean", [ref]) == ([ref], [b"payload"], 0)
    assert ledger.hand_over("clean", [(ref, b'{"id": "x"}')]) == [ref]
    assert ledger.take("entities", [ref], "t:0") == ([ref], [b'{"id": "x"}'], 1)
    assert ledger.take("entities", [ref], "t:0").deliveries == 2  # the same message again
    assert ledger.land([ref]) == [True]
    assert ledger.take("entities", [ref]) == ([], [], 0)  # landed: nothing left to take
    assert ledger.redis.get(ledger.keys.doc(ref.id, ref.submission, "clean")) is None  # freed
    assert ledger.land([ref]) == [False]
    # A stale redelivery that fails afterwards does not dead-letter a processed article.
    assert ledger.dead_letter(ref, stage="entities", reason="x") is False
    assert ledger.landed([ref]) == [True]
    assert ledger.payloads([ref]) == [None]  # freed when it landed
    assert ref not in ledger.stalled(idle=-60)


def test_a_batch_is_admitted_and_handed_over_in_one_call_each(ledger):
    refs = [Ref(f"b{i}-{uuid.uuid4().hex}", "json", ORDINARY) for i in range(3)]
    ledger.admit([(r, f"payload {i}".encode()) for i, r in enumerate(refs)])
    assert ledger.payloads(refs) == [b"payload 0", b"payload 1", b"payload 2"]
    assert set(refs) <= set(ledger.stalled(idle=-60))  # all in flight
    ttl = ledger.settings.payload_ttl
    assert all(0 < ms <= 1000 * ttl for ms in ledger.payload_ttls(refs))
    assert ledger.hand_over("clean", [(r, f"doc {i}".encode()) for i, r in enumerate(refs)]) == refs
    assert ledger.take("entities", refs).inputs == [b"doc 0", b"doc 1", b"doc 2"]
    assert 0 < ledger.redis.ttl(ledger.keys.doc(refs[1].id, ORDINARY, "clean")) <= ttl
    ledger.admit([])
    assert ledger.hand_over("clean", []) == []
    assert ledger.land(refs) == [True, True, True]
    assert ledger.payload_ttls(refs[:1]) == [-2]  # freed
    assert ledger.redis.exists(*(k for r in refs for k in ledger.keys.docs(r.id, ORDINARY))) == 0


def test_dead_letter_keeps_the_payload_once(ledger):
    ref = Ref(f"d-{uuid.uuid4().hex}", "text", ORDINARY)
    ledger.admit([(ref, b"\xff\xfe not utf-8")])
    ledger.hand_over("entities", [(ref, b"{}")])
    assert ledger.dead_letter(ref, stage="clean", reason="bad") is True
    assert ledger.redis.get(ledger.keys.doc(ref.id, ref.submission, "entities")) is None
    assert ledger.dead_letter(ref, stage="clean", reason="bad") is False
    assert ledger.land([ref]) == [False]
    [entry] = [e for e in ledger.dead_entries() if e.id == ref.id]
    assert (entry.stage, entry.reason, entry.kind, entry.submission) == (
        "clean", "bad", "text", ORDINARY)  # fmt: skip
    assert entry.payload == b"\xff\xfe not utf-8"
    assert ref not in ledger.stalled(idle=-60)
    # --force (a new submission) may land it again.
    assert ledger.land([ref._replace(submission="forced")]) == [True]


def test_landing_is_announced_once_per_article_on_the_channel(ledger):
    """What ``submit --wait`` listens to: each landing (processed or dead) once, with its state."""
    first, second, bad = (Ref(f"{n}-{uuid.uuid4().hex}", "json", ORDINARY) for n in "abc")
    ledger.admit([(r, b"{}") for r in (first, second, bad)])
    pubsub = ledger.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(ledger.keys.landed)
    assert pubsub.get_message(timeout=5) is None  # (the subscription's confirmation)
    assert ledger.land([first]) == [True]
    assert ledger.land([first, second]) == [False, True]  # one script call for the batch
    assert ledger.dead_letter(bad, stage="clean", reason="bad") is True
    assert ledger.land([first, second]) == [False, False]  # nothing new: no message
    messages = []
    while (message := pubsub.get_message(timeout=1)) is not None:
        messages.append(json.loads(message["data"]))
    pubsub.close()
    assert messages == [[[first.id, "processed:1"]], [[second.id, "processed:1"]],
                        [[bad.id, "dead:1"]]]  # fmt: skip


def test_sweeper_requeues_stalled_articles_only_when_the_queue_is_empty(ledger, settings):
    settings = settings.model_copy(update={"queue": f"sweeper-{uuid.uuid4().hex}"})  # no worker
    stalled, busy, expired, landed = (
        Ref(f"{n}-{uuid.uuid4().hex}", "json", ORDINARY)
        for n in ("stalled", "busy", "expired", "landed")
    )
    ledger.admit([(r, b"{}") for r in (stalled, busy, expired)])
    ledger.redis.delete(ledger.keys.payload(expired.id, ORDINARY))  # as if its TTL ran out
    ledger.admit([(landed, b"{}")])
    ledger.land([landed])
    # A duplicate submission stored the payload again after the first copy had landed.
    ledger.admit([(landed, b"{}")])
    long_ago = time.time() - settings.visibility_timeout - 10
    for r in (stalled, expired, landed):
        ledger.redis.zadd(ledger.keys.inflight, {inflight_member(r): long_ago})
    ledger.take("clean", [busy], "delivery-1")  # a task of busy's started just now

    queue = ledger.redis
    queued: list[list[Ref]] = []
    queue.rpush(settings.queue, b"a message still waiting")
    assert sweeper.sweep(ledger, settings, queue, queued.append, no_strays) == 0
    queue.delete(settings.queue)

    assert sweeper.sweep(ledger, settings, queue, queued.append, no_strays) == 1
    assert queued == [[stalled]]
    assert [d.reason for d in ledger.dead_entries() if d.id == expired.id] == [
        "payload not found (expired)"
    ]
    assert ledger.payloads([landed]) == [None]
    assert landed not in ledger.stalled(idle=-60)
    # Touched when re-enqueued: not swept again before another visibility timeout.
    assert sweeper.sweep(ledger, settings, queue, queued.append, no_strays) == 0
    ledger.land([stalled, busy])


def test_a_forced_submission_keeps_its_payload_when_the_earlier_one_lands(ledger):
    first = Ref(f"f-{uuid.uuid4().hex}", "json", ORDINARY)
    forced = first._replace(submission="forced")
    ledger.admit([(first, b"first")])
    ledger.admit([(forced, b"again")])  # --force while the first is in flight
    assert ledger.land([first]) == [True]
    assert ledger.payloads([first, forced]) == [None, b"again"]
    assert ledger.land([forced]) == [True]


def test_every_key_is_under_the_prefix(ledger):
    """The key map: whatever the ledger writes for an article is under NEWSWORKER_KEY_PREFIX."""
    ref = Ref(f"k-{uuid.uuid4().hex}", "json", ORDINARY)
    keys = ledger.keys
    names = [keys.payload(ref.id, ORDINARY), *keys.docs(ref.id, ORDINARY), keys.state(ref.id),
             keys.inflight, keys.deliveries("t:0"), keys.dead, keys.record(ref.id),
             keys.delivered(ref.id), keys.stream, keys.chrome, keys.sweeper_lock]  # fmt: skip
    assert all(name.startswith(ledger.settings.key_prefix + ":") for name in names)
    assert len(set(names)) == len(names)


class CountingConnection(redis.Connection):
    """Counts the bytes of the replies it reads."""

    received = 0

    def read_response(self, *args, **kwargs):
        reply = super().read_response(*args, **kwargs)
        CountingConnection.received += _size(reply)
        return reply


class CountingUnixConnection(redis.UnixDomainSocketConnection):
    read_response = CountingConnection.read_response


def _size(reply: object) -> int:
    if isinstance(reply, bytes | str):
        return len(reply)
    if isinstance(reply, list | tuple):
        return sum(map(_size, reply))
    return 8


def test_the_sweeper_moves_ids_never_payloads(ledger, settings):
    settings = settings.model_copy(update={"queue": f"sweeper-{uuid.uuid4().hex}"})
    refs = [Ref(f"big-{i}-{uuid.uuid4().hex}", "json", ORDINARY) for i in range(20)]
    ledger.admit([(ref, b"x" * 1_000_000) for ref in refs])  # 20 MB of payloads
    long_ago = time.time() - settings.visibility_timeout - 10
    ledger.redis.zadd(ledger.keys.inflight, {inflight_member(r): long_ago for r in refs})
    url = settings.effective_redis_url
    kind = CountingUnixConnection if url.startswith("unix:") else CountingConnection
    counted = redis.Redis(connection_pool=redis.ConnectionPool.from_url(url, connection_class=kind))
    queued: list[list[Ref]] = []
    CountingConnection.received = 0
    assert (
        sweeper.sweep(Ledger(settings, counted), settings, ledger.redis, queued.append, no_strays)
        >= 20
    )
    assert set(refs) <= {ref for batch in queued for ref in batch}
    assert CountingConnection.received < 100_000, CountingConnection.received
    ledger.land(refs)
