"""The same pipeline with RabbitMQ as the broker (Redis still holds records and state): end to
end, and a worker killed with -9 mid-batch. Skipped, with the reason, where no RabbitMQ
answers (NEWSWORKER_TEST_AMQP_URL, default amqp://guest:guest@127.0.0.1:5672//; .ci/run starts
the machine's where it can)."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter

import pytest
from conftest import SAMPLE, Worker, json_lines, namespace, newsworker, settings_overrides
from test_delivery import kill_9_mid_batch, stream_ids, write_articles

from config import Settings
from worker.ingest import derive_id

AMQP = os.environ.get("NEWSWORKER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")


@pytest.fixture(scope="module")
def amqp() -> str:
    from kombu import Connection

    try:
        with Connection(AMQP, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        pytest.skip(f"no RabbitMQ at {AMQP}: {exc}")
    return AMQP


@pytest.fixture
def rabbit_env(amqp):
    """A namespace whose queue is on RabbitMQ; the queue is deleted afterwards."""
    from kombu import Connection

    env = namespace(broker_url=amqp)
    yield env
    # suppress: a queue never declared has nothing to delete
    with Connection(amqp) as conn, contextlib.suppress(Exception):
        conn.default_channel.queue_delete(env["NEWSWORKER_QUEUE"])


def test_end_to_end_on_rabbitmq(tmp_path, dev_pages, rabbit_env):
    env = rabbit_env
    pages = tmp_path / "pages.jsonl"
    with open(pages, "w", encoding="utf-8") as fh:
        for page in dev_pages[:8]:
            rec = {"id": page["id"], "url": page["url"], "html": page["html"]}
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    worker = Worker(tmp_path / "w.log", concurrency=2, env=env).start()
    try:
        assert "amqp://" in worker.broker
        done = newsworker("submit", str(SAMPLE), str(pages), "--wait", "--timeout", "300", env=env)
        assert done.returncode == 0, done.stderr + worker.tail()
        assert json.loads(done.stdout) == {
            "submitted": 9, "queued": 9, "duplicates": 0, "processed": 9, "dead": 0,
            "pending": 0,
        }  # fmt: skip
    finally:
        worker.stop()
    records = json_lines(newsworker("consume", "--group", "e2e", env=env).stdout)
    sample_id = derive_id(SAMPLE.read_bytes(), "text")
    ids = {sample_id} | {p["id"] for p in dev_pages[:8]}
    assert Counter(r["id"] for r in records) == Counter({i: 1 for i in ids})
    [sample] = [r for r in records if r["id"] == sample_id]
    assert sample["title"] == "Президенты поговорили о Корее"
    assert "Connected to amqp://" in worker.log.read_text(errors="replace")


def test_kill_9_mid_batch_on_rabbitmq(tmp_path, dev_pages, rabbit_env):
    """RabbitMQ hands the unacknowledged messages of a dead connection to the next consumer at
    once: no visibility timeout, no sweeper; every article lands exactly once."""
    env = rabbit_env
    settings = Settings(**settings_overrides(env))
    ids = write_articles(tmp_path / "batch.jsonl", 48, dev_pages, "rkill")
    counts, second = kill_9_mid_batch(tmp_path, env, ids, processed=10)
    assert counts == Counter(processed=48), second.tail()
    assert stream_ids(settings) == Counter({i: 1 for i in ids})
