"""Retention: Redis stays flat however long newsworker runs.

- **Records and state** (``nw:article:{id}``, ``nw:delivered:{id}``, ``nw:state:{id}``) expire
  ``NEWSWORKER_RECORD_TTL`` seconds after the article landed, that is after every configured
  sink has it (the Redis sink is written last, the state after all sinks).
- **The streams** are trimmed here, every ``NEWSWORKER_RETENTION_INTERVAL`` seconds by one
  worker at a time (a Redis lock): the records stream to entries younger than
  ``NEWSWORKER_STREAM_MAX_AGE`` and at most ``NEWSWORKER_STREAM_MAXLEN`` of them, the dead
  letters to ``NEWSWORKER_DEAD_MAX_AGE`` — **but never past an entry that a consumer group has
  not read or not acknowledged**: before trimming, every group of the stream is asked for its
  oldest pending entry and the last entry it was given, and nothing from the oldest of those
  on is removed (``XTRIM … MINID``). A group that stops reading holds the stream back (watch
  ``newsworker_consumer_group_lag``; delete a group no one reads with ``XGROUP DESTROY``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import redis
import structlog

from config import Settings

log = structlog.get_logger("worker.ops.retention")

StreamId = tuple[int, int]


def parse_id(value: bytes | str) -> StreamId:
    text = value.decode() if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def format_id(value: StreamId) -> str:
    return f"{value[0]}-{value[1]}"


def _after(value: StreamId) -> StreamId:
    return value[0], value[1] + 1


def keep_from(client: redis.Redis, stream: str) -> StreamId | None:
    """The oldest entry some consumer group still needs (its oldest unacknowledged entry, or
    the first it has not been given); None when there is no group."""
    floor: StreamId | None = None
    for group in client.xinfo_groups(stream):
        name = group["name"]
        pending = client.xpending(stream, name)
        if pending["pending"]:
            need = parse_id(pending["min"])
        else:
            need = _after(parse_id(group["last-delivered-id"]))
        floor = need if floor is None else min(floor, need)
    return floor


@dataclass
class Trimmed:
    stream: str
    removed: int
    held_back_by_groups: bool


def trim(
    client: redis.Redis, stream: str, *, max_age: float = 0, maxlen: int = 0, now: float = 0
) -> Trimmed:
    """Remove the entries older than ``max_age`` seconds and beyond the newest ``maxlen``
    (0: no such bound), but none that a consumer group still needs."""
    cut: StreamId | None = None
    if max_age > 0:
        cut = (int(((now or time.time()) - max_age) * 1000), 0)
    if maxlen > 0:
        excess = client.xlen(stream) - maxlen
        if excess > 0:
            [(last, _)] = client.xrange(stream, "-", "+", count=excess)[-1:]
            by_length = _after(parse_id(last))
            cut = by_length if cut is None else max(cut, by_length)
    if cut is None:
        return Trimmed(stream, 0, False)
    floor = keep_from(client, stream) if client.exists(stream) else None
    wanted = cut
    if floor is not None and floor < cut:
        cut = floor
    removed = client.xtrim(stream, minid=format_id(cut), approximate=False)
    # Held back: entries the bounds would have removed are still there for some group.
    oldest = client.xrange(stream, "-", "+", count=1)
    held = bool(oldest) and parse_id(oldest[0][0]) < wanted
    return Trimmed(stream, int(removed), held)


def run_once(client: redis.Redis, settings: Settings) -> list[Trimmed]:
    from worker.delivery.ledger import Keys

    s, keys = settings, Keys(settings)
    return [
        trim(client, keys.stream, max_age=s.stream_max_age, maxlen=s.stream_maxlen),
        trim(client, keys.dead, max_age=s.dead_max_age),
    ]


def start(settings: Settings) -> threading.Thread | None:
    """Trim every NEWSWORKER_RETENTION_INTERVAL seconds in a daemon thread, one worker of the
    cluster at a time (a Redis lock); None when retention is off (interval 0)."""
    if settings.retention_interval <= 0:
        return None
    from worker.delivery.ledger import Keys, connect

    client = connect(settings)
    every = settings.retention_interval
    lock = Keys(settings).retention_lock

    def loop() -> None:
        stop = threading.Event()
        while not stop.wait(every):
            try:
                if client.set(lock, "1", nx=True, ex=max(1, int(every) - 1)):
                    for done in run_once(client, settings):
                        if done.removed or done.held_back_by_groups:
                            log.info(
                                "stream_trimmed", stream=done.stream, removed=done.removed,
                                held_back_by_groups=done.held_back_by_groups,
                            )  # fmt: skip
            except redis.RedisError as exc:
                log.warning("retention_failed", error=str(exc))

    thread = threading.Thread(target=loop, name="newsworker-retention", daemon=True)
    thread.start()
    return thread
