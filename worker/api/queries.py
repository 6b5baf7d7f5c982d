"""Every SQL query of the API: plain functions over a psycopg connection (dict rows).

Filters compose into the WHERE clause only when given, so each query stays one the indexes
serve: entities by ``articles.entity_keys`` (GIN), full text by ``articles.tsv`` (GIN), time by
``dated_at``, a source by ``(source, dated_at)``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from worker.alerts.engine import entity_key

ENTITY_TYPES = ("PER", "LOC", "ORG")

_SUMMARY_COLUMNS = sql.SQL(
    "a.id, a.submission, a.versions, a.url, a.canonical_url, a.source, a.title, a.published_at,"
    " a.processed_at, a.dated_at, a.language, a.story_id, a.summary"
)


class BadCursor(ValueError):
    pass


def encode_cursor(dated_at: dt.datetime, article_id: str) -> str:
    raw = json.dumps([dated_at.isoformat(), article_id], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        when, article_id = json.loads(raw)
        return dt.datetime.fromisoformat(when), str(article_id)
    except (ValueError, TypeError) as exc:
        raise BadCursor("invalid cursor") from exc


@dataclass
class ArticleFilter:
    entity: str | None = None
    type: str | None = None
    source: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    q: str | None = None
    story: str | None = None
    language: str | None = None

    def where(self) -> tuple[list[sql.Composable], list[Any]]:
        conds: list[sql.Composable] = []
        args: list[Any] = []
        if self.entity is not None:
            types = [self.type] if self.type else list(ENTITY_TYPES)
            conds.append(sql.SQL("a.entity_keys && %s::text[]"))
            args.append([entity_key(t, self.entity) for t in types])
        if self.source is not None:
            conds.append(sql.SQL("a.source = %s"))
            args.append(self.source.strip().lower().removeprefix("www."))
        if self.since is not None:
            conds.append(sql.SQL("a.dated_at >= %s"))
            args.append(self.since)
        if self.until is not None:
            conds.append(sql.SQL("a.dated_at < %s"))
            args.append(self.until)
        if self.q is not None:
            conds.append(sql.SQL("a.tsv @@ websearch_to_tsquery('russian', %s)"))
            args.append(self.q)
        if self.story is not None:
            conds.append(sql.SQL("a.story_id = %s"))
            args.append(self.story)
        if self.language is not None:
            conds.append(sql.SQL("a.language = %s"))
            args.append(self.language)
        return conds, args


def articles_query(
    flt: ArticleFilter, limit: int, after: tuple[dt.datetime, str] | None = None
) -> tuple[sql.Composed, list[Any]]:
    """The SELECT of one page of articles, newest first (``dated_at``, then id)."""
    conds, args = flt.where()
    if after is not None:
        conds.append(sql.SQL("(a.dated_at, a.id) < (%s, %s)"))
        args.extend(after)
    where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")
    query = sql.SQL(
        "SELECT {cols} FROM articles a{where} ORDER BY a.dated_at DESC, a.id DESC LIMIT %s"
    ).format(cols=_SUMMARY_COLUMNS, where=where)
    return query, [*args, limit]


def list_articles(
    conn: psycopg.Connection, flt: ArticleFilter, limit: int, cursor: str | None
) -> tuple[list[dict], str | None]:
    """One page of articles and the cursor of the next (None at the end)."""
    after = decode_cursor(cursor) if cursor else None
    query, args = articles_query(flt, limit + 1, after)
    rows = conn.execute(query, args).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1]["dated_at"], rows[-1]["id"]) if more else None
    return rows, next_cursor


def get_article(conn: psycopg.Connection, article_id: str) -> dict | None:
    row = conn.execute(
        sql.SQL(
            "SELECT {cols}, v.record FROM articles a"
            " JOIN article_versions v ON v.version_id = a.version_id WHERE a.id = %s"
        ).format(cols=_SUMMARY_COLUMNS),
        (article_id,),
    ).fetchone()
    if row is None:
        return None
    row["entities"] = conn.execute(
        "SELECT type, normal, count, salience FROM article_entities WHERE article_id = %s"
        " ORDER BY salience DESC, normal",
        (article_id,),
    ).fetchall()
    row["history"] = conn.execute(
        "SELECT submission, processed_at FROM article_versions WHERE article_id = %s"
        " ORDER BY processed_at, version_id",
        (article_id,),
    ).fetchall()
    return row


def top_entities(
    conn: psycopg.Connection,
    type_: str | None,
    since: dt.datetime,
    until: dt.datetime,
    limit: int,
    order: str,
) -> list[dict]:
    """Entities by the number of articles mentioning them in [since, until), with the number
    in the period of the same length before it; ``order`` 'articles' or 'rising' (growth)."""
    previous = since - (until - since)
    type_filter = sql.SQL(" AND type = %(type)s") if type_ else sql.SQL("")
    order_by = (
        sql.SQL("c.articles - coalesce(p.articles, 0) DESC, c.articles DESC")
        if order == "rising"
        else sql.SQL("c.articles DESC, c.mentions DESC")
    )
    query = sql.SQL(
        """
        WITH c AS (
          SELECT type, normal, count(*) AS articles, sum(count) AS mentions
            FROM article_entities
           WHERE dated_at >= %(since)s AND dated_at < %(until)s{type_filter}
           GROUP BY type, normal),
        p AS (
          SELECT type, normal, count(*) AS articles
            FROM article_entities
           WHERE dated_at >= %(previous)s AND dated_at < %(since)s{type_filter}
           GROUP BY type, normal)
        SELECT c.type, c.normal, c.articles, c.mentions,
               coalesce(p.articles, 0) AS previous,
               c.articles - coalesce(p.articles, 0) AS change
          FROM c LEFT JOIN p USING (type, normal)
         ORDER BY {order_by}, c.type, c.normal
         LIMIT %(limit)s
        """
    ).format(type_filter=type_filter, order_by=order_by)
    args = {"since": since, "until": until, "previous": previous, "type": type_, "limit": limit}
    return conn.execute(query, args).fetchall()


def timeline(
    conn: psycopg.Connection,
    type_: str,
    normal: str,
    interval: str,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[dict]:
    """Articles (and mentions) of one entity per hour or day (UTC), oldest first."""
    conds = [sql.SQL("a.entity_keys @> ARRAY[%s]::text[]")]
    args: list[Any] = [entity_key(type_, normal)]
    if since is not None:
        conds.append(sql.SQL("a.dated_at >= %s"))
        args.append(since)
    if until is not None:
        conds.append(sql.SQL("a.dated_at < %s"))
        args.append(until)
    query = sql.SQL(
        "SELECT date_trunc({unit}, a.dated_at, 'UTC') AS bucket, count(*) AS articles,"
        " sum(e.count) AS mentions"
        " FROM articles a JOIN article_entities e ON e.article_id = a.id AND e.type = %s"
        " AND nw_entity_key(e.type, e.normal) = nw_entity_key(%s, %s)"
        " WHERE {where} GROUP BY 1 ORDER BY 1"
    ).format(unit=sql.Literal(interval), where=sql.SQL(" AND ").join(conds))
    return conn.execute(query, [type_, type_, normal, *args]).fetchall()


def sources(
    conn: psycopg.Connection, since: dt.datetime, until: dt.datetime
) -> tuple[list[dict], dict[str, list[dict]]]:
    """Per source: articles in all, first and last seen; and its articles per day (UTC) in
    [since, until)."""
    totals = conn.execute(
        "SELECT source, count(*) AS articles, min(dated_at) AS first_dated,"
        " max(dated_at) AS last_dated, max(processed_at) AS last_seen"
        " FROM articles GROUP BY source ORDER BY count(*) DESC, source"
    ).fetchall()
    daily: dict[str, list[dict]] = {}
    for row in conn.execute(
        "SELECT source, date_trunc('day', dated_at, 'UTC') AS day, count(*) AS articles"
        " FROM articles WHERE dated_at >= %s AND dated_at < %s GROUP BY 1, 2 ORDER BY 1, 2",
        (since, until),
    ):
        daily.setdefault(row["source"], []).append({"day": row["day"], "articles": row["articles"]})
    return totals, daily
