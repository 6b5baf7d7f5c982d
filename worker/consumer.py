"""Reading processed records from the Redis stream with a consumer group.

Each entry is handed to ``handle`` and acknowledged after it returns: at least once per
consumer group; records carry their ``id`` (and ``submission``) to make a repeat recognisable.

Nothing a group was given is lost when a consumer dies before acknowledging:

- the default consumer name is stable (``consume@{host}``), so a consumer restarted on the
  same machine first reads again what it was given and never acknowledged;
- before reading new entries, a consumer claims (``XAUTOCLAIM``) every entry that any other
  member of its group was given and left unacknowledged for ``NEWSWORKER_CONSUMER_CLAIM_IDLE``
  seconds, so the entries of a consumer that never comes back (another machine, another name)
  are handled by the next one.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from typing import Any

import redis

from config import Settings
from worker.delivery.ledger import Keys, connect

Entry = tuple[bytes, dict[bytes, bytes] | None]


def default_consumer_name() -> str:
    """The same on every start on this machine: a restarted consumer finds its own pending
    entries."""
    return f"consume@{socket.gethostname()}"


def consume(
    settings: Settings,
    group: str,
    handle: Callable[[dict[str, Any]], None],
    *,
    consumer: str | None = None,
    count: int | None = None,
    follow: bool = False,
    block_ms: int = 2000,
) -> int:
    """Read ``group``'s entries (creating the group at the stream's start), hand each to
    ``handle`` and acknowledge it: first this consumer's own unacknowledged entries, then
    others' idle ones, then new ones.

    Returns the number handled. Stops after ``count`` entries, or when caught up unless
    ``follow``.
    """
    client = connect(settings)
    stream = Keys(settings).stream
    consumer = consumer or default_consumer_name()
    idle_ms = int(settings.consumer_claim_idle * 1000)
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    handled = 0

    def want() -> int:
        return 100 if count is None else min(100, count - handled)

    def run(entries: list[Entry]) -> None:
        nonlocal handled
        for entry_id, fields in entries:
            if count is not None and handled >= count:
                return
            record = (fields or {}).get(b"record")
            if record is not None:  # None: trimmed from the stream while pending
                handle(json.loads(record))
            client.xack(stream, group, entry_id)
            handled += 1

    def done() -> bool:
        return count is not None and handled >= count

    # What this consumer was given before and never acknowledged.
    while not done():
        reply = client.xreadgroup(group, consumer, {stream: "0"}, count=want())
        entries = reply[0][1] if reply else []
        if not entries:
            break
        run(entries)
    last_claim = 0.0
    while not done():
        # Others' entries left idle, then new ones; in --follow mode a claim every so often.
        if time.monotonic() - last_claim >= min(5.0, settings.consumer_claim_idle):
            claimed = _claim(client, stream, group, consumer, idle_ms, want())
            if claimed:
                run(claimed)
                continue
            last_claim = time.monotonic()
        reply = client.xreadgroup(group, consumer, {stream: ">"}, count=want(), block=block_ms)
        entries = reply[0][1] if reply else []
        if entries:
            run(entries)
        elif not follow:
            break
    return handled


def _claim(
    client: redis.Redis, stream: str, group: str, consumer: str, idle_ms: int, count: int
) -> list[Entry]:
    """Entries of ``group`` pending for over ``idle_ms`` under any consumer, now this one's."""
    cursor = "0-0"
    while True:
        reply = client.xautoclaim(stream, group, consumer, idle_ms, start_id=cursor, count=count)
        cursor, entries = reply[0], reply[1]
        if entries:
            return entries
        if cursor in (b"0-0", "0-0"):
            return []
