"""Dead letters as the API shows them: read from the Redis stream, retried one at a time."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator

from config import Settings
from worker.boilerplate import source_domain
from worker.store import DeadEntry, Store


def _entry(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadEntry:
    f = {k.decode(): v for k, v in fields.items()}
    text = {k: f.get(k, b"").decode("utf-8", "replace") for k in DeadEntry.__annotations__}
    return DeadEntry(
        entry_id=entry_id.decode(),
        payload=f.get("payload", b""),
        **{k: text[k] for k in ("id", "stage", "reason", "kind", "token", "failed_at")},
    )


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


def page(store: Store, limit: int, before: str | None) -> tuple[list[DeadEntry], str | None]:
    """Dead letters newest first; the cursor is the last entry's id."""
    top = f"({before}" if before else "+"
    rows = store.redis.xrevrange(store.dead_stream, max=top, min="-", count=limit + 1)
    entries = [_entry(i, f) for i, f in rows[:limit]]
    return entries, (entries[-1].entry_id if len(rows) > limit else None)


def get(store: Store, entry_id: str) -> DeadEntry | None:
    rows = store.redis.xrange(store.dead_stream, min=entry_id, max=entry_id, count=1)
    return _entry(*rows[0]) if rows else None


def per_source(store: Store, scan: int = 100_000) -> Counter[str | None]:
    """Dead letters per source, over the newest ``scan`` of them."""
    counts: Counter[str | None] = Counter()
    for entry in _newest(store, scan):
        counts[source_of(entry)] += 1
    return counts


def _newest(store: Store, scan: int) -> Iterator[DeadEntry]:
    top = "+"
    while scan > 0:
        rows = store.redis.xrevrange(store.dead_stream, max=top, min="-", count=min(1000, scan))
        if not rows:
            return
        for entry_id, fields in rows:
            yield _entry(entry_id, fields)
        scan -= len(rows)
        top = "(" + rows[-1][0].decode()


def retry(settings: Settings, store: Store, entry: DeadEntry) -> bool:
    """Submit the dead letter again with its original payload and remove it; True if queued."""
    from worker import producer
    from worker.ingest import Submission

    store.forget([entry.id])
    item = Submission(entry.id, entry.kind, entry.payload, f"dead:{entry.entry_id}")  # type: ignore[arg-type]
    done = producer.submit([item], settings)
    store.remove_dead([entry.entry_id])
    return entry.id in done.queued
