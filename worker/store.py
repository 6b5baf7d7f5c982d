"""The Redis state every article passes through, independent of the configured sinks.

Keys (``nw`` is ``NEWSWORKER_KEY_PREFIX``):

- ``nw:payload:{id}:{token}``  the submitted payload, exactly as read (bytes), while the
  article is in flight; removed when it lands. Each submission has its own (``--force`` while
  an earlier one is still in flight: neither takes the other's payload away).
- ``nw:doc:{id}:{token}:{stage}``  the article as a stage left it (JSON), for the next stage:
  messages carry only the articles' ids; removed when it lands.
- ``nw:state:{id}``    where the article landed: ``processed:{token}`` or ``dead:{token}``;
  expires ``NEWSWORKER_RECORD_TTL`` after landing (worker.ops.retention).
- ``nw:dead``          stream of dead letters (id, stage, reason, kind, token, failed_at, payload:
  the original bytes, cut to ``NEWSWORKER_DEAD_PAYLOAD_BYTES``, payload_bytes: its full size,
  payload_sha256: the full payload's sha256).
- ``nw:inflight``      sorted set of articles submitted and not landed (member
  ``{kind}:{token}:{id}``), scored by when a task of theirs last started: what
  ``worker.sweeper`` re-enqueues when their messages were lost.

A *token* names one submission: ``"1"`` for an ordinary one (a second ordinary submission of
the same id is a duplicate), a fresh random value for ``--force``. Landing is idempotent per
(id, token): a redelivered message that lands again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import redis

from config import Settings

ORDINARY = "1"

Ref = tuple[str, str, str]
"""An article in flight: (id, kind, token)."""

STAGES = ("clean", "entities", "summarize")
"""The stages whose output waits in Redis for the next one."""

# KEYS: state, payload, dead stream, inflight, then the stages' documents.
# ARGV: token, id, stage, reason, kind, failed_at, state ttl, inflight member, payload (at most
# NEWSWORKER_DEAD_PAYLOAD_BYTES of it), its full size, its sha256.
# Writes one dead letter per (id, token), never for an article already processed by it.
_DEAD = """
local state = redis.call('GET', KEYS[1])
if state == 'processed:' .. ARGV[1] or state == 'dead:' .. ARGV[1] then return 0 end
local fields = {'id', ARGV[2], 'stage', ARGV[3], 'reason', ARGV[4], 'kind', ARGV[5],
                'token', ARGV[1], 'failed_at', ARGV[6], 'payload', ARGV[9],
                'payload_bytes', ARGV[10], 'payload_sha256', ARGV[11]}
redis.call('XADD', KEYS[3], '*', unpack(fields))
if tonumber(ARGV[7]) > 0 then
  redis.call('SET', KEYS[1], 'dead:' .. ARGV[1], 'EX', ARGV[7])
else
  redis.call('SET', KEYS[1], 'dead:' .. ARGV[1])
end
redis.call('ZREM', KEYS[4], ARGV[8])
redis.call('DEL', KEYS[2], unpack(KEYS, 5))
return 1
"""

# KEYS: state, payload, inflight, then the stages' documents.
# ARGV: token, inflight member, state ttl (NEWSWORKER_RECORD_TTL; 0: none).
_PROCESSED = """
local state = redis.call('GET', KEYS[1])
if state == 'processed:' .. ARGV[1] or state == 'dead:' .. ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then
  redis.call('SET', KEYS[1], 'processed:' .. ARGV[1], 'EX', ARGV[3])
else
  redis.call('SET', KEYS[1], 'processed:' .. ARGV[1])
end
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('DEL', KEYS[2], unpack(KEYS, 4))
return 1
"""


def inflight_member(article_id: str, kind: str, token: str) -> str:
    return f"{kind}:{token}:{article_id}"


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
    payload_bytes: int
    payload_sha256: str

    @property
    def truncated(self) -> bool:
        """Whether ``payload`` is only the start of what was submitted."""
        return len(self.payload) < self.payload_bytes


class Store:
    """Payloads and stage results in flight, landing states and dead letters, in Redis."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.redis = client or connect(settings)
        self._dead = self.redis.register_script(_DEAD)
        self._processed = self.redis.register_script(_PROCESSED)

    # -- keys ---------------------------------------------------------------------------
    def state_key(self, article_id: str) -> str:
        return self.settings.key("state", article_id)

    def payload_key(self, article_id: str, token: str) -> str:
        return self.settings.key("payload", article_id, token)

    def doc_key(self, article_id: str, token: str, stage: str) -> str:
        return self.settings.key("doc", article_id, token, stage)

    def doc_keys(self, article_id: str, token: str) -> list[str]:
        return [self.doc_key(article_id, token, stage) for stage in STAGES]

    @property
    def dead_stream(self) -> str:
        return self.settings.key(self.settings.dead_stream)

    @property
    def inflight_key(self) -> str:
        return self.settings.key("inflight")

    # -- producer side ------------------------------------------------------------------
    def states(self, ids: list[str]) -> list[str | None]:
        if not ids:
            return []
        values = self.redis.mget([self.state_key(i) for i in ids])
        return [v.decode() if v is not None else None for v in values]

    def put_payloads(self, items: Iterable[tuple[str, str, str, bytes]]) -> None:
        """Store (id, kind, token, payload) items and mark them in flight."""
        ttl = self.settings.payload_ttl
        now = time.time()
        with self.redis.pipeline(transaction=False) as pipe:
            for article_id, kind, token, payload in items:
                pipe.set(self.payload_key(article_id, token), payload, ex=ttl)
                pipe.zadd(self.inflight_key, {inflight_member(article_id, kind, token): now})
            pipe.execute()

    def forget(self, ids: list[str]) -> None:
        """Clear the landing state of these ids (for --force and retry-dead)."""
        if ids:
            self.redis.delete(*(self.state_key(i) for i in ids))

    # -- worker side --------------------------------------------------------------------
    def payloads(self, refs: list[Ref]) -> list[bytes | None]:
        keys = [self.payload_key(article_id, token) for article_id, _, token in refs]
        return self.redis.mget(keys) if keys else []

    def put_docs(self, stage: str, docs: list[tuple[str, str, str]]) -> None:
        """Keep (id, token, JSON) of articles as ``stage`` left them, for the next stage."""
        with self.redis.pipeline(transaction=False) as pipe:
            for article_id, token, doc in docs:
                pipe.set(self.doc_key(article_id, token, stage), doc, ex=self.settings.payload_ttl)
            pipe.execute()

    def docs(self, stage: str, refs: list[Ref]) -> list[bytes | None]:
        """The articles as ``stage`` left them (None where there is none)."""
        keys = [self.doc_key(article_id, token, stage) for article_id, _, token in refs]
        return self.redis.mget(keys) if keys else []

    def landed(self, refs: list[Ref]) -> list[bool]:
        """Whether each article already landed (processed or dead) by its submission."""
        states = self.states([article_id for article_id, _, _ in refs])
        return [
            state is not None and state.split(":", 1)[1] == token
            for (_, _, token), state in zip(refs, states, strict=True)
        ]

    def mark_processed(self, refs: list[Ref]) -> list[bool]:
        """Record these articles as processed; False for one that had already landed."""
        with self.redis.pipeline(transaction=False) as pipe:
            for article_id, kind, token in refs:
                keys = [
                    self.state_key(article_id),
                    self.payload_key(article_id, token),
                    self.inflight_key,
                    *self.doc_keys(article_id, token),
                ]
                member = inflight_member(article_id, kind, token)
                args = [token, member, self.settings.record_ttl]
                self._processed(keys=keys, args=args, client=pipe)
            return [bool(n) for n in pipe.execute()]

    def dead_letter(
        self, article_id: str, token: str, *, stage: str, reason: str, kind: str
    ) -> bool:
        keys = [
            self.state_key(article_id),
            self.payload_key(article_id, token),
            self.dead_stream,
            self.inflight_key,
            *self.doc_keys(article_id, token),
        ]
        member = inflight_member(article_id, kind, token)
        ttl = self.settings.record_ttl
        payload = self.redis.get(keys[1]) or b""
        kept = payload[: self.settings.dead_payload_bytes]
        digest = hashlib.sha256(payload).hexdigest()
        args = [token, article_id, stage, reason[:2000], kind, utcnow(), ttl, member]
        args += [kept, len(payload), digest]
        return bool(self._dead(keys=keys, args=args))

    def task_started(self, delivery: str, refs: list[Ref]) -> int:
        """Note that a task of these articles started (they are making progress); count the
        deliveries of its message and return how many there have been."""
        key = self.settings.key("deliveries", delivery)
        now = time.time()
        with self.redis.pipeline() as pipe:
            pipe.incr(key).expire(key, 7 * 24 * 3600)
            if refs:
                members = {inflight_member(*ref): now for ref in refs}
                pipe.zadd(self.inflight_key, members, xx=True)
            n, *_ = pipe.execute()
        return int(n)

    def stalled(self, idle: float, limit: int = 1000) -> list[Ref]:
        """(id, kind, token) of in-flight articles none of whose tasks started for ``idle`` s."""
        members = self.redis.zrangebyscore(
            self.inflight_key, "-inf", time.time() - idle, start=0, num=limit
        )
        out = []
        for member in members:
            kind, token, article_id = member.decode().split(":", 2)
            out.append((article_id, kind, token))
        return out

    def settle(self, article_id: str, kind: str, token: str) -> None:
        """Drop the in-flight traces of a submission that has already landed (a duplicate
        submission stored its payload again after the first copy landed; a duplicate message
        left a stage's document)."""
        with self.redis.pipeline() as pipe:
            pipe.zrem(self.inflight_key, inflight_member(article_id, kind, token))
            pipe.delete(self.payload_key(article_id, token), *self.doc_keys(article_id, token))
            pipe.execute()

    def touch(self, article_id: str, kind: str, token: str) -> None:
        member = inflight_member(article_id, kind, token)
        self.redis.zadd(self.inflight_key, {member: time.time()}, xx=True)

    def forget_deliveries(self, delivery: str) -> None:
        self.redis.delete(self.settings.key("deliveries", delivery))

    # -- dead letters -------------------------------------------------------------------
    def dead_entries(
        self, count: int | None = None, *, newest_first: bool = False
    ) -> Iterator[DeadEntry]:
        last = "+" if newest_first else "-"
        while True:
            if newest_first:
                batch = self.redis.xrevrange(self.dead_stream, max=last, min="-", count=500)
            else:
                batch = self.redis.xrange(self.dead_stream, min=last, max="+", count=500)
            if not batch:
                return
            for entry_id, fields in batch:
                f = {k.decode(): v for k, v in fields.items()}
                payload = f.get("payload", b"")
                yield DeadEntry(
                    entry_id=entry_id.decode(),
                    payload=payload,
                    payload_bytes=int(f.get("payload_bytes", len(payload))),
                    payload_sha256=f.get("payload_sha256", b"").decode()
                    or hashlib.sha256(payload).hexdigest(),
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
