"""The Redis state every article passes through, independent of the configured sinks.

Keys (``nw`` is ``NEWSWORKER_KEY_PREFIX``):

- ``nw:payload:{id}``  the submitted payload, exactly as read (bytes), while the article is in
  flight; removed when it lands.
- ``nw:state:{id}``    where the article landed: ``processed:{token}`` or ``dead:{token}``.
- ``nw:dead``          stream of dead letters (id, stage, reason, payload, kind, token, failed_at).

A *token* names one submission: ``"1"`` for an ordinary one (a second ordinary submission of
the same id is a duplicate), a fresh random value for ``--force``. Landing is idempotent per
(id, token): a redelivered message that lands again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis

from config import Settings

ORDINARY = "1"

# KEYS: state, payload, dead stream. ARGV: token, id, stage, reason, kind, failed_at, maxlen.
# Writes one dead letter per (id, token), never for an article already processed by it.
_DEAD = """
local state = redis.call('GET', KEYS[1])
if state == 'processed:' .. ARGV[1] or state == 'dead:' .. ARGV[1] then return 0 end
local payload = redis.call('GET', KEYS[2]) or ''
local fields = {'id', ARGV[2], 'stage', ARGV[3], 'reason', ARGV[4], 'kind', ARGV[5],
                'token', ARGV[1], 'failed_at', ARGV[6], 'payload', payload}
if tonumber(ARGV[7]) > 0 then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', unpack(fields))
else
  redis.call('XADD', KEYS[3], '*', unpack(fields))
end
redis.call('SET', KEYS[1], 'dead:' .. ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: state, payload. ARGV: token.
_PROCESSED = """
local state = redis.call('GET', KEYS[1])
if state == 'processed:' .. ARGV[1] or state == 'dead:' .. ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'processed:' .. ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""


def connect(settings: Settings) -> redis.Redis:
    url = settings.effective_redis_url
    tcp = {} if url.startswith("unix:") else {"socket_keepalive": True}
    return redis.Redis.from_url(
        url,
        socket_timeout=30,
        socket_connect_timeout=10,
        health_check_interval=30,
        retry_on_timeout=True,
        **tcp,
    )


def utcnow() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class DeadEntry:
    entry_id: str
    id: str
    stage: str
    reason: str
    kind: str
    token: str
    failed_at: str
    payload: bytes


class Store:
    """Payloads in flight, landing states and dead letters, in Redis."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.redis = client or connect(settings)
        self._dead = self.redis.register_script(_DEAD)
        self._processed = self.redis.register_script(_PROCESSED)

    # -- keys ---------------------------------------------------------------------------
    def state_key(self, article_id: str) -> str:
        return self.settings.key("state", article_id)

    def payload_key(self, article_id: str) -> str:
        return self.settings.key("payload", article_id)

    @property
    def dead_stream(self) -> str:
        return self.settings.key(self.settings.dead_stream)

    # -- producer side ------------------------------------------------------------------
    def states(self, ids: list[str]) -> list[str | None]:
        if not ids:
            return []
        values = self.redis.mget([self.state_key(i) for i in ids])
        return [v.decode() if v is not None else None for v in values]

    def put_payloads(self, items: Iterable[tuple[str, bytes]]) -> None:
        ttl = self.settings.payload_ttl
        with self.redis.pipeline(transaction=False) as pipe:
            for article_id, payload in items:
                pipe.set(self.payload_key(article_id), payload, ex=ttl)
            pipe.execute()

    def forget(self, ids: list[str]) -> None:
        """Clear the landing state of these ids (for --force and retry-dead)."""
        if ids:
            self.redis.delete(*(self.state_key(i) for i in ids))

    # -- worker side --------------------------------------------------------------------
    def payload(self, article_id: str) -> bytes | None:
        return self.redis.get(self.payload_key(article_id))

    def landed(self, article_id: str, token: str) -> bool:
        state = self.redis.get(self.state_key(article_id))
        return state is not None and state.decode().split(":", 1)[1] == token

    def mark_processed(self, article_id: str, token: str) -> bool:
        keys = [self.state_key(article_id), self.payload_key(article_id)]
        return bool(self._processed(keys=keys, args=[token]))

    def dead_letter(
        self, article_id: str, token: str, *, stage: str, reason: str, kind: str
    ) -> bool:
        keys = [self.state_key(article_id), self.payload_key(article_id), self.dead_stream]
        args = [
            token,
            article_id,
            stage,
            reason[:2000],
            kind,
            utcnow(),
            self.settings.stream_maxlen,
        ]
        return bool(self._dead(keys=keys, args=args))

    def count_delivery(self, delivery: str) -> int:
        """Count one more delivery of a task message; return how many there have been."""
        key = self.settings.key("deliveries", delivery)
        with self.redis.pipeline() as pipe:
            n, _ = pipe.incr(key).expire(key, 7 * 24 * 3600).execute()
        return int(n)

    def forget_deliveries(self, delivery: str) -> None:
        self.redis.delete(self.settings.key("deliveries", delivery))

    # -- dead letters -------------------------------------------------------------------
    def dead_entries(self, count: int | None = None) -> Iterator[DeadEntry]:
        last = "-"
        while True:
            batch = self.redis.xrange(self.dead_stream, min=last, max="+", count=500)
            if not batch:
                return
            for entry_id, fields in batch:
                f = {k.decode(): v for k, v in fields.items()}
                yield DeadEntry(
                    entry_id=entry_id.decode(),
                    payload=f.get("payload", b""),
                    **{
                        k: f.get(k, b"").decode()
                        for k in ("id", "stage", "reason", "kind", "token", "failed_at")
                    },
                )
                if count is not None:
                    count -= 1
                    if count <= 0:
                        return
            last = "(" + batch[-1][0].decode()

    def remove_dead(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.redis.xdel(self.dead_stream, *entry_ids)
