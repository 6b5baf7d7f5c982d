"""PostgreSQL sink: the query store (``worker.pgstore``), migrated on first connection.

Each record goes in through ``nw_ingest``: a new (id, submission) adds a version and becomes
the article's current row (typed columns, entities, full-text vector); the same submission
again changes nothing. ``discard`` takes a submission back (``nw_discard``).
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.types.json import Jsonb

from config import Settings
from worker import pgstore
from worker.errors import SinkUnavailable
from worker.schema import Record

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
        self.settings = settings
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = pgstore.connect(self.settings)
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
        rows = [(Jsonb(r.model_dump(mode="json")),) for r in records]
        try:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany("SELECT nw_ingest(%s)", rows, returning=True)
                written = [bool(cur.fetchone()[0])]  # type: ignore[index]
                while cur.nextset():
                    written.append(bool(cur.fetchone()[0]))  # type: ignore[index]
            return written
        except psycopg.OperationalError as exc:
            self.close()
            raise SinkUnavailable(f"postgres: {exc}") from exc

    def discard(self, records: Sequence[Record]) -> None:
        try:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    "SELECT nw_discard(%s, %s)", [(r.id, r.submission) for r in records]
                )
        except psycopg.OperationalError as exc:
            self.close()
            raise SinkUnavailable(f"postgres: {exc}") from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
