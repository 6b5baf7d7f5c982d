"""PostgreSQL sink: the query store (``worker.pgstore``), migrated on first connection.

Each record goes in through ``nw_ingest``: a new (id, submission) adds a version and becomes
the article's current row (typed columns, entities, full-text vector); the same submission
again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
from psycopg.types.json import Jsonb

from config import Settings
from worker import pgstore
from worker.errors import SinkUnavailable
from worker.schema import Record


class PostgresSink:
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._conn: psycopg.Connection | None = None

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = pgstore.connect(self.settings)
        return self._conn

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

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
