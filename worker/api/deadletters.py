"""Dead letters as the API shows them: read from the Redis stream, retried one at a time."""

from __future__ import annotations

import json
from collections import Counter

import redis

from config import Settings
from worker.clean.chrome import source_domain
from worker.delivery.ledger import DeadEntry, Ledger, dead_entry


def source_of(entry: DeadEntry) -> str | None:
    """The source a dead JSON submission names (its ``source``, else its URL's host)."""
    if entry.kind != "json":
        return None
    try:
        data = json.loads(entry.payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    source, url = data.get("source"), data.get("url")
    return source_domain(
        source if isinstance(source, str) else None, url if isinstance(url, str) else None
    )


class BadEntryId(ValueError):
    """Not an id Redis has for a stream entry (e.g. beyond 64 bits)."""


def page(ledger: Ledger, limit: int, before: str | None) -> tuple[list[DeadEntry], str | None]:
    """Dead letters newest first; the cursor is the last entry's id."""
    top = f"({before}" if before else "+"
    try:
        rows = ledger.redis.xrevrange(ledger.keys.dead, max=top, min="-", count=limit + 1)
    except redis.ResponseError as exc:
        raise BadEntryId(str(exc)) from None
    entries = [dead_entry(i, f) for i, f in rows[:limit]]
    return entries, (entries[-1].entry_id if len(rows) > limit else None)


def get(ledger: Ledger, entry_id: str) -> DeadEntry | None:
    try:
        rows = ledger.redis.xrange(ledger.keys.dead, min=entry_id, max=entry_id, count=1)
    except redis.ResponseError as exc:
        raise BadEntryId(str(exc)) from None
    return dead_entry(*rows[0]) if rows else None


def per_source(ledger: Ledger, scan: int = 100_000) -> Counter[str | None]:
    """Dead letters per source, over the newest ``scan`` of them."""
    counts: Counter[str | None] = Counter()
    for entry in ledger.dead_entries(scan, newest_first=True):
        counts[source_of(entry)] += 1
    return counts


def retry(settings: Settings, ledger: Ledger, entry: DeadEntry) -> bool:
    """Submit the dead letter again with its original payload and remove it; True if queued."""
    from worker import producer

    return producer.retry_dead(ledger, [entry], settings) == 1
