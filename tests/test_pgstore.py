"""The query store's migrations, against the real PostgreSQL: a database the first postgres
sink created is upgraded in place without losing a row."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg.types.json import Jsonb

from worker import pgstore
from worker.pgstore.migrate import migrations
from worker.schema import Entity, Mention, Record, StoryRef, Summary

# What the postgres sink of newsworker 0.1.0 ran (worker/sinks/postgres.py before the store).
_V0_CREATE = """
CREATE TABLE IF NOT EXISTS {schema}.articles (
    id           text PRIMARY KEY,
    submission   text NOT NULL,
    processed_at timestamptz NOT NULL,
    record       jsonb NOT NULL
)
"""
_V0_UPSERT = """
INSERT INTO {schema}.articles (id, submission, processed_at, record) VALUES (%s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE
   SET submission = EXCLUDED.submission,
       processed_at = EXCLUDED.processed_at,
       record = EXCLUDED.record
 WHERE {schema}.articles.submission IS DISTINCT FROM EXCLUDED.submission
RETURNING id
"""


BULK = 8_000


def _record(i: int) -> Record:
    gazprom = Entity(
        type="ORG", normal="Газпром", count=2, salience=0.9,
        mentions=[Mention(start=0, stop=7, text="Газпром")] * 2,
    )  # fmt: skip
    return Record(
        id=f"old-{i}",
        submission="1" if i % 2 else uuid.uuid4().hex,
        url=f"https://www.ria.ru/news/{i}.html",
        processed_at=f"2026-11-2{i % 9}T10:00:00+00:00",
        title=f"Заголовок {i}",
        published_at=f"2011-11-2{i % 9}" if i % 3 else None,
        language="ru",
        text=f"Газпром сообщил о санкциях. Статья номер {i}.",
        entities=[gazprom] if i % 4 else [],
        dates=[],
        money=[],
        summary=Summary(method="lead", budget="1 sentences", text="Газпром сообщил.", sentences=[]),
        story=StoryRef(
            id=f"story-{i % 5}", first_id="old-0", first_seen="2026-11-20T10:00:00+00:00", size=2
        ),
    )


@pytest.fixture()
def schema(settings):
    name = f"{settings.postgres_schema}_m{uuid.uuid4().hex[:6]}"
    yield name
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def test_a_database_of_the_first_sink_is_upgraded_in_place(settings, schema):
    records = [_record(i) for i in range(40)]
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(_V0_CREATE.format(schema=schema))
        for r in records:
            row = (r.id, r.submission, r.processed_at, Jsonb(r.model_dump(mode="json")))
            conn.execute(_V0_UPSERT.format(schema=schema), row)
        # ... and a table of some size (more rows than PostgreSQL has lock slots by default).
        conn.execute(
            f"""INSERT INTO {schema}.articles
                SELECT 'bulk-' || n, '1', now(), jsonb_build_object(
                         'id', 'bulk-' || n, 'text', 'Текст ' || n, 'entities', '[]'::jsonb,
                         'summary', jsonb_build_object('text', ''))
                  FROM generate_series(1, {BULK}) n"""
        )

    upgraded = settings.model_copy(update={"postgres_schema": schema})
    with pgstore.connect(upgraded) as conn:
        applied = [r[0] for r in conn.execute("SELECT name FROM schema_migrations")]
        versions = conn.execute(
            "SELECT article_id, submission, processed_at, record FROM article_versions"
            " WHERE article_id NOT LIKE 'bulk-%'"
        ).fetchall()
        bulk = conn.execute(
            "SELECT count(*), count(DISTINCT a.id) FROM article_versions v"
            " JOIN articles a ON a.version_id = v.version_id WHERE a.id LIKE 'bulk-%'"
        ).fetchone()
        current = conn.execute(
            "SELECT id, source, url, title, published_at, language, text, summary, entity_keys"
            " FROM articles WHERE id NOT LIKE 'bulk-%'"
        ).fetchall()
        entities = conn.execute(
            "SELECT article_id, type, normal, count, salience FROM article_entities"
        ).fetchall()
        legacy = conn.execute("SELECT to_regclass('articles_before_0001')").fetchone()
    assert applied == [name for _, name, _ in migrations()]
    assert legacy == (None,)
    assert bulk == (BULK, BULK)
    with pgstore.connect(upgraded) as conn:
        stories = dict(conn.execute("SELECT id, story_id FROM articles WHERE id LIKE 'old-%'"))
    assert stories == {r.id: r.story.id for r in records}  # type: ignore[union-attr]
    # Every row is there, its record unchanged.
    by_id = {r.id: r for r in records}
    assert sorted(v[0] for v in versions) == sorted(by_id)
    for article_id, submission, processed_at, record in versions:
        original = by_id[article_id]
        assert submission == original.submission
        assert processed_at.isoformat() == original.processed_at
        assert record == original.model_dump(mode="json")
    # ... and typed.
    assert len(current) == len(records)
    for article_id, source, url, title, published, language, text, summary, keys in current:
        original = by_id[article_id]
        assert (source, url, title, language, text) == (
            "ria.ru",
            original.url,
            original.title,
            "ru",
            original.text,
        )
        assert summary == "Газпром сообщил."
        expected_date = original.published_at
        assert (published.date().isoformat() if published else None) == expected_date
        assert keys == (["ORG:газпром"] if original.entities else [])
    assert sorted(e[0] for e in entities) == sorted(r.id for r in records if r.entities)
    assert {(t, n, c, round(s, 3)) for _, t, n, c, s in entities} == {("ORG", "Газпром", 2, 0.9)}


def test_migrations_apply_once(settings, schema):
    fresh = settings.model_copy(update={"postgres_schema": schema})
    with pgstore.connect(fresh) as conn:
        first = conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall()
        assert pgstore.migrate(conn, schema) == []
        assert conn.execute("SELECT version, applied_at FROM schema_migrations").fetchall() == first
