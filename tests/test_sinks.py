"""Each sink stores a record once per (id, submission), a batch at a time: against real Redis
and PostgreSQL."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from worker import pgstore
from worker.delivery.ledger import Keys
from worker.schema import Record, Summary
from worker.sinks import build_sinks
from worker.sinks.jsonl import JsonlSink
from worker.sinks.postgres import PostgresSink
from worker.sinks.redis import RedisSink


def record(article_id: str, submission: str = "1", text: str = "Текст.") -> Record:
    return Record(
        id=article_id,
        submission=submission,
        processed_at="2026-11-25T12:00:00+00:00",
        text=text,
        entities=[],
        dates=[],
        money=[],
        summary=Summary(method="test", budget="1 sentences", text=text, sentences=[]),
    )


def test_redis_sink_announces_once_per_submission(settings):
    sink = RedisSink(settings)
    rid = f"r-{uuid.uuid4().hex}"
    stream = Keys(settings).stream
    before = sink.redis.xlen(stream)
    assert sink.write([record(rid)]) == [True]
    assert sink.write([record(rid)]) == [False]
    assert sink.redis.xlen(stream) == before + 1
    assert sink.write([record(rid, submission="forced", text="Новый.")]) == [True]
    assert json.loads(sink.redis.get(Keys(settings).record(rid)))["text"] == "Новый."
    # A batch is one script call: each record of it announced once, the others left alone.
    other = f"r-{uuid.uuid4().hex}"
    batch = [record(rid, submission="forced"), record(other), record(other)]
    assert sink.write(batch) == [False, True, False]
    assert sink.redis.xlen(stream) == before + 3
    assert 0 < sink.redis.ttl(Keys(settings).record(other)) <= settings.record_ttl
    assert sink.write([]) == []


def test_jsonl_sink_writes_whole_lines_once(settings, tmp_path):
    path = tmp_path / "out.jsonl"
    settings = settings.model_copy(update={"jsonl_path": path})
    first, second = JsonlSink(settings), JsonlSink(settings)  # two worker processes
    assert first.write([record("a")]) == [True]
    assert second.write([record("a")]) == [False]  # sees what the other appended
    assert second.write([record("b")]) == [True]
    # A crash mid-write leaves a torn line; the next append cuts it first.
    with open(path, "ab") as fh:
        fh.write(b'{"id": "torn", "te')
    assert first.write([record("c")]) == [True]
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["a", "b", "c"]


def test_postgres_sink_keeps_every_submission_and_the_latest_is_current(settings):
    sink = PostgresSink(settings)
    rid = f"p-{uuid.uuid4().hex}"
    assert sink.write([record(rid)]) == [True]
    assert sink.write([record(rid)]) == [False]
    forced = record(rid, submission="forced", text="Новый.")
    forced.processed_at = "2026-11-25T13:00:00+00:00"
    assert sink.write([forced]) == [True]
    with pgstore.connect(settings) as conn:
        current = conn.execute(
            "SELECT text, submission, versions FROM articles WHERE id = %s", (rid,)
        ).fetchall()
        versions = conn.execute(
            "SELECT submission, record->>'text' FROM article_versions WHERE article_id = %s"
            " ORDER BY version_id",
            (rid,),
        ).fetchall()
    assert current == [("Новый.", "forced", 2)]
    assert versions == [("1", "Текст."), ("forced", "Новый.")]
    # An older submission landing late is kept, and does not become current.
    late = record(rid, submission="late", text="Поздний.")
    late.processed_at = "2026-11-25T12:30:00+00:00"
    assert sink.write([late]) == [True]
    # Taking back the current submission makes the latest one left current again.
    sink.discard([forced])
    with pgstore.connect(settings) as conn:
        current = conn.execute(
            "SELECT text, submission, versions FROM articles WHERE id = %s", (rid,)
        ).fetchall()
    assert current == [("Поздний.", "late", 2)]
    sink.discard([record(rid), late])
    with pgstore.connect(settings) as conn:
        gone = conn.execute("SELECT count(*) FROM articles WHERE id = %s", (rid,))
        assert gone.fetchone() == (0,)
        left = conn.execute("SELECT count(*) FROM article_versions WHERE article_id = %s", (rid,))
        assert left.fetchone() == (0,)
    sink.close()


def test_postgres_sinks_starting_together_migrate_once(settings):
    from concurrent.futures import ThreadPoolExecutor

    fresh = settings.model_copy(update={"postgres_schema": f"{settings.postgres_schema}_race"})
    sinks = [PostgresSink(fresh) for _ in range(6)]
    rid = f"race-{uuid.uuid4().hex}"
    try:
        with ThreadPoolExecutor(6) as pool:
            results = [r for [r] in pool.map(lambda s: s.write([record(rid)]), sinks)]
        assert sorted(results) == [False] * 5 + [True]
    finally:
        for sink in sinks:
            sink.close()
        with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {fresh.postgres_schema} CASCADE")


@pytest.mark.parametrize("kind", ["redis", "jsonl", "postgres"])
def test_a_batch_stores_only_its_new_records(settings, tmp_path, kind):
    settings = settings.model_copy(update={"jsonl_path": tmp_path / "out.jsonl"})
    [sink] = build_sinks(settings.model_copy(update={"sinks": kind}))
    old, new, forced = (f"{n}-{uuid.uuid4().hex}" for n in ("old", "new", "forced"))
    assert sink.write([record(old), record(forced)]) == [True, True]
    batch = [record(old), record(new, text="Новый."), record(forced, submission="again")]
    assert sink.write(batch) == [False, True, True]
    assert sink.write(batch) == [False, False, False]
    sink.close()


def test_unknown_sink_is_a_clear_error(settings):
    with pytest.raises(ValueError, match="unknown sink"):
        build_sinks(settings.model_copy(update={"sinks": "redis,kafka"}))
