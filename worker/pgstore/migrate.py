"""Versioned migrations: the numbered SQL files in ``migrations/``, applied in order, once.

Each file runs in a transaction of its own and is recorded in ``schema_migrations``; an
advisory lock makes processes that start together (worker processes, the API) apply them
once. A database created by the first postgres sink (one ``articles`` table with a ``record``
column) is upgraded in place by ``0001``: its rows become versions of the new tables.
"""

from __future__ import annotations

import re
from importlib import resources

import psycopg
import structlog
from psycopg import sql

from config import Settings

log = structlog.get_logger("worker.pgstore")

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration, in order."""
    out = []
    for entry in resources.files("worker.pgstore").joinpath("migrations").iterdir():
        if m := _FILE.match(entry.name):
            out.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


def migrate(conn: psycopg.Connection, schema: str) -> list[str]:
    """Bring ``schema`` up to the newest migration; return the names of those applied now."""
    applied: list[str] = []
    with conn.transaction():
        # One process at a time, per schema; the lock is released when the transaction ends.
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('newsworker-migrate:' || %s))", (schema,)
        )
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, text in migrations():
            if version in done:
                continue
            with conn.transaction():
                conn.execute(text)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
                )
            applied.append(name)
            log.info("migration_applied", schema=schema, migration=name)
    return applied


def connect(settings: Settings, *, autocommit: bool = True, **kwargs: object) -> psycopg.Connection:
    """A connection to the store, its ``search_path`` the store's schema, migrated."""
    dsn = settings.effective_postgres_dsn
    if not dsn:
        raise psycopg.OperationalError(
            "no PostgreSQL: set NEWSWORKER_POSTGRES_DSN, or start the embedded one with "
            "`newsworker up`"
        )
    conn = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=10, **kwargs)  # type: ignore[arg-type]
    try:
        migrate(conn, settings.postgres_schema)
        conn.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.postgres_schema))
        )
        if not autocommit:
            conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn
