"""PostgreSQL sink: one row per article id, the record as ``jsonb``, upserted.

The table is created on first use. A re-delivery of the same submission changes nothing;
a forced re-processing (a new submission) replaces the row.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from config import Settings
from worker.errors import SinkUnavailable
from worker.schema import Record

_CREATE = """
CREATE TABLE IF NOT EXISTS {table} (
    id           text PRIMARY KEY,
    submission   text NOT NULL,
    processed_at timestamptz NOT NULL,
    record       jsonb NOT NULL
)
"""

_UPSERT = """
INSERT INTO {table} (id, submission, processed_at, record) VALUES (%s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE
   SET submission = EXCLUDED.submission,
       processed_at = EXCLUDED.processed_at,
       record = EXCLUDED.record
 WHERE {table}.submission IS DISTINCT FROM EXCLUDED.submission
RETURNING id
"""


_DISCARD = "DELETE FROM {table} WHERE id = %s AND submission = %s"

MAX_ID_BYTES = 2000
"""Longer ids do not fit the primary key's index (a B-tree entry is at most ~2.7 kB)."""


def _nul_in(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_nul_in(v) for v in value.values())
    if isinstance(value, list):
        return any(_nul_in(v) for v in value)
    return False


class PostgresSink:
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        self.dsn = settings.postgres_dsn
        self.table_name = settings.postgres_table
        self.table = sql.Identifier(settings.postgres_table)
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)
            with conn.transaction():
                # Worker processes starting together would race on CREATE TABLE IF NOT EXISTS.
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.table_name,))
                conn.execute(sql.SQL(_CREATE).format(table=self.table))
            self._conn = conn
        return self._conn

    def refusal(self, record: Record) -> str | None:
        if len(record.id.encode()) > MAX_ID_BYTES:
            return f"postgres: the id is over {MAX_ID_BYTES} bytes (the table's index limit)"
        if _nul_in(record.model_dump()):
            return "postgres: text with U+0000 (NUL), which PostgreSQL cannot store"
        return None

    def write(self, records: Sequence[Record]) -> list[bool]:
        if not records:
            return []
        rows = [
            (r.id, r.submission, r.processed_at, Jsonb(r.model_dump(mode="json"))) for r in records
        ]
        query = sql.SQL(_UPSERT).format(table=self.table)
        try:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(query, rows, returning=True)
                written = [cur.fetchone() is not None]  # a row back: inserted or replaced
                while cur.nextset():
                    written.append(cur.fetchone() is not None)
            return written
        except psycopg.OperationalError as exc:
            self.close()
            raise SinkUnavailable(f"postgres: {exc}") from exc

    def discard(self, records: Sequence[Record]) -> None:
        query = sql.SQL(_DISCARD).format(table=self.table)
        try:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(query, [(r.id, r.submission) for r in records])
        except psycopg.OperationalError as exc:
            self.close()
            raise SinkUnavailable(f"postgres: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
