"""The SQL the pages need beyond the API's (``worker.api.queries``): plain functions over a
psycopg connection with dict rows, on the query store's tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

_ITEM = "a.id, a.title, a.source, a.dated_at, a.processed_at"


def newest_dated(conn: psycopg.Connection) -> dt.datetime | None:
    """The newest ``dated_at`` not in the future: where the pulse's periods end."""
    row = conn.execute(
        "SELECT max(dated_at) AS last FROM articles WHERE dated_at <= now()"
    ).fetchone()
    return row["last"] if row else None


def landed(
    conn: psycopg.Connection, after: dt.datetime | None, limit: int = 50
) -> list[dict[str, Any]]:
    """Articles in the order they landed (processed), newest first; only those after
    ``after`` when given."""
    if after is None:
        return conn.execute(
            f"SELECT {_ITEM} FROM articles a ORDER BY a.processed_at DESC, a.id DESC LIMIT %s",
            (limit,),
        ).fetchall()
    return conn.execute(
        f"SELECT {_ITEM} FROM articles a WHERE a.processed_at > %s"
        " ORDER BY a.processed_at DESC, a.id DESC LIMIT %s",
        (after, limit),
    ).fetchall()


_HITS = (
    "WITH hits AS (SELECT a.id, a.title, a.source, a.dated_at, a.processed_at FROM articles a"
    " WHERE a.entity_keys @> ARRAY[nw_entity_key(%(type)s, %(normal)s)])"
)


def entity_summary(conn: psycopg.Connection, type_: str, normal: str) -> dict[str, Any]:
    """Articles and mentions of an entity, its first and last article's time."""
    return conn.execute(
        _HITS + ", m AS (SELECT sum(e.count) AS mentions FROM hits JOIN article_entities e"
        " ON e.article_id = hits.id AND e.type = %(type)s"
        " AND nw_entity_key(e.type, e.normal) = nw_entity_key(%(type)s, %(normal)s))"
        " SELECT count(*) AS articles, min(dated_at) AS first, max(dated_at) AS last,"
        " (SELECT coalesce(mentions, 0) FROM m) AS mentions FROM hits",
        {"type": type_, "normal": normal},
    ).fetchone()  # type: ignore[return-value]


def co_occurring(
    conn: psycopg.Connection, type_: str, normal: str, limit: int = 15
) -> list[dict[str, Any]]:
    """Entities found in the same articles, by the number of articles shared."""
    return conn.execute(
        _HITS + " SELECT e.type, mode() WITHIN GROUP (ORDER BY e.normal) AS normal,"
        " count(*) AS articles"
        " FROM hits JOIN article_entities e ON e.article_id = hits.id"
        " WHERE nw_entity_key(e.type, e.normal) <> nw_entity_key(%(type)s, %(normal)s)"
        " GROUP BY e.type, nw_entity_key(e.type, e.normal)"
        " ORDER BY count(*) DESC, 2 LIMIT %(limit)s",
        {"type": type_, "normal": normal, "limit": limit},
    ).fetchall()


def entity_sources(
    conn: psycopg.Connection, type_: str, normal: str, limit: int = 10
) -> list[dict[str, Any]]:
    return conn.execute(
        _HITS + " SELECT source, count(*) AS articles FROM hits GROUP BY source"
        " ORDER BY count(*) DESC, source LIMIT %(limit)s",
        {"type": type_, "normal": normal, "limit": limit},
    ).fetchall()


def entity_latest(
    conn: psycopg.Connection, type_: str, normal: str, limit: int = 20
) -> list[dict[str, Any]]:
    return conn.execute(
        _HITS + " SELECT * FROM hits ORDER BY dated_at DESC, id DESC LIMIT %(limit)s",
        {"type": type_, "normal": normal, "limit": limit},
    ).fetchall()


def stories(conn: psycopg.Connection, limit: int = 50) -> list[dict[str, Any]]:
    """Stories of the last articles, by size: their first article's title and source."""
    return conn.execute(
        "WITH s AS (SELECT story_id, count(*) AS articles, min(dated_at) AS first_dated,"
        " max(dated_at) AS last_dated FROM articles WHERE story_id IS NOT NULL"
        " GROUP BY story_id ORDER BY max(dated_at) DESC LIMIT 1000),"
        " f AS (SELECT DISTINCT ON (story_id) story_id, source AS first_source, title"
        " FROM articles WHERE story_id IN (SELECT story_id FROM s)"
        " ORDER BY story_id, dated_at, id)"
        " SELECT s.*, f.first_source, f.title FROM s JOIN f USING (story_id)"
        " ORDER BY s.articles DESC, s.last_dated DESC LIMIT %s",
        (limit,),
    ).fetchall()


def story_articles(conn: psycopg.Connection, story_id: str) -> list[dict[str, Any]]:
    """A story's articles, oldest first: its timeline of reprints."""
    return conn.execute(
        f"SELECT {_ITEM} FROM articles a WHERE a.story_id = %s ORDER BY a.dated_at, a.id"
        " LIMIT 1000",
        (story_id,),
    ).fetchall()


def source_lengths(conn: psycopg.Connection) -> dict[str | None, float]:
    """Mean clean-text length (characters) of each source's articles."""
    rows = conn.execute(
        "SELECT source, avg(length(text)) AS chars FROM articles GROUP BY source"
    ).fetchall()
    return {r["source"]: float(r["chars"] or 0) for r in rows}
