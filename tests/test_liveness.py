"""Heartbeats and held messages on the real Redis broker: a silent worker's messages go back to
their queue, a beating one's stay with it."""

from __future__ import annotations

import uuid

import kombu

from worker.celery_app import app
from worker.delivery import liveness


def _taken(queue: str) -> tuple[kombu.Connection, str]:
    """A message published to ``queue`` and taken without acknowledgement (as a worker holds
    a prefetched or running task); its delivery tag."""
    connection = app.connection_for_write()
    with connection.Producer() as producer:
        producer.publish({"task": "x"}, routing_key=queue, declare=[kombu.Queue(queue)])
    simple = connection.SimpleQueue(queue)
    message = simple.get(timeout=5)
    return connection, message.delivery_tag


def test_a_silent_workers_messages_go_back_and_a_beating_ones_stay(ledger):
    queue = f"liveness-{uuid.uuid4().hex}"
    connection, tag = _taken(queue)
    try:
        slow, judge_ = f"slow-{uuid.uuid4().hex}", f"judge-{uuid.uuid4().hex}"
        ledger.hold(slow, "task-1", tag)
        ledger.beat(slow)  # alive, however long its task runs
        assert liveness.judge(app, ledger, judge_) == 0
        assert ledger.redis.llen(queue) == 0 and ledger.holdings(slow) == {"task-1": tag}

        silent_since = ledger.now() - liveness.SILENT - 1  # its last beat, then nothing
        ledger.redis.zadd(ledger.keys.workers, {slow: silent_since})
        assert liveness.judge(app, ledger, judge_) == 1
        assert ledger.redis.llen(queue) == 1  # back on its queue, for any worker
        assert not ledger.redis.hexists("unacked", tag)
        assert ledger.holdings(slow) == {} and slow not in ledger.gone(0)
    finally:
        ledger.redis.delete(queue)
        connection.release()


def test_a_reconnected_worker_gives_back_what_it_dropped_but_not_what_it_runs(ledger):
    queue = f"liveness-{uuid.uuid4().hex}"
    first, dropped = _taken(queue)
    second, running = _taken(queue)
    try:
        me = f"me-{uuid.uuid4().hex}"
        ledger.hold(me, "dropped", dropped)
        ledger.hold(me, "running", running)
        assert liveness.give_back(app, ledger, me, keep={"running"}) == 1
        assert ledger.redis.llen(queue) == 1
        assert ledger.holdings(me) == {"running": running}
        ledger.forget_worker(me)
    finally:
        ledger.redis.delete(queue)
        first.release()
        second.release()
