"""Reading processed records from the Redis stream with a consumer group.

Each entry is handed to ``handle`` and acknowledged after it returns, so a consumer that dies
mid-way gets its unacknowledged entries again on restart (same consumer name): at least once
per consumer group; records carry their ``id`` to make a repeat recognisable.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from typing import Any

import redis

from config import Settings
from worker.delivery.ledger import Keys, connect


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
    """Read entries new to ``group`` (creating it at the stream's start), hand each to ``handle``.

    Returns the number handled. Stops after ``count`` entries, or when caught up unless
    ``follow``.
    """
    client = connect(settings)
    stream = Keys(settings).stream
    consumer = consumer or f"{socket.gethostname()}-{os.getpid()}"
    try:
        client.xgroup_create(stream, group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
    handled = 0
    # First what this consumer was given before and never acknowledged, then new entries.
    cursor = "0"
    while count is None or handled < count:
        want = 100 if count is None else min(100, count - handled)
        reply = client.xreadgroup(
            group, consumer, {stream: cursor}, count=want, block=None if cursor == "0" else block_ms
        )
        entries = reply[0][1] if reply else []
        if cursor == "0" and not entries:
            cursor = ">"
            continue
        if not entries:
            if follow:
                continue
            break
        for entry_id, fields in entries:
            record = (fields or {}).get(b"record")
            if record is not None:
                handle(json.loads(record))
            client.xack(stream, group, entry_id)
            handled += 1
    return handled
