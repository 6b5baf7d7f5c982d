"""The ledger: every Redis key newsworker writes, and the delivery protocol's verbs over them.

KEY MAP (``nw`` is ``NEWSWORKER_KEY_PREFIX``; ``{id}`` an article id — in a key, the first 32 hex
digits of the SHA-256 of the whole id (``id_key``), so ids of any length and any characters make
keys of one size without collision; the id itself is in the values —, ``{sub}`` a submission)

  written by the producer (``admit``), read and freed by the stages:
  - ``nw:payload:{id}:{sub}``        string: the submitted payload, exactly as read (bytes),
                                     while the article is in flight (TTL
                                     ``NEWSWORKER_PAYLOAD_TTL``); freed when it lands. One per
                                     submission: a ``--force`` while an earlier submission is in
                                     flight takes neither's payload away.
  - ``nw:inflight``                  sorted set of the articles submitted and not landed, member
                                     ``{kind}:{sub}:{id}``, scored by when a task of theirs last
                                     started (``take``): what the sweeper looks at.
  written by a stage (``hand_over``), read by the next (``take``):
  - ``nw:doc:{id}:{sub}:{stage}``    string: the article as ``stage`` left it (JSON; messages
                                     carry only ids); freed when the article lands.
  written by the stages' policy:
  - ``nw:deliveries:{task}:{try}``   counter: deliveries of one task message (poison counting);
                                     removed when the task returns, else expires in 7 days.
  written when an article lands (``land``, ``dead_letter``), read by ``submit --wait``:
  - ``nw:state:{id}``                string: ``processed:{sub}`` or ``dead:{sub}``; expires
                                     ``NEWSWORKER_RECORD_TTL`` after landing.
  - ``nw:dead``                      stream (``NEWSWORKER_DEAD_STREAM``): one entry per dead
                                     letter: id, stage, reason, kind, submission, failed_at,
                                     payload (the original bytes, cut to
                                     ``NEWSWORKER_DEAD_PAYLOAD_BYTES``), payload_bytes (its full
                                     size), payload_sha256 (of the full payload); trimmed to
                                     ``NEWSWORKER_DEAD_MAX_AGE`` (``worker.ops.retention``).
  - ``nw:landed``                    pub/sub channel (nothing stored): each landing batch
                                     (``land``) and dead letter, as a JSON list of
                                     ``[id, state]``; what ``submit --wait`` listens to.
  written by the Redis sink (``worker.sinks.redis``), read by consumers:
  - ``nw:article:{id}``              string: the record (JSON) of the last processing; expires
                                     ``NEWSWORKER_RECORD_TTL`` after it was written.
  - ``nw:delivered:{id}``            string: the submission whose record was announced: at
                                     most one stream entry per submission (same TTL).
  - ``nw:articles``                  stream (``NEWSWORKER_STREAM``): fields ``id``, ``record``;
                                     trimmed by age and length, never past an entry a consumer
                                     group still needs (``worker.ops.retention``).
  written by the clean stage when it learns chrome (``NEWSWORKER_LEARN_CHROME``):
  - ``nw:chrome:{domain}``           hash: recurring line counts of a source (7-day TTL).
  written by the group stage (``worker.stories.index`` documents each key):
  - ``nw:grp:*``                     the grouping index (reprints, stories) of the window
                                     ``NEWSWORKER_STORY_WINDOW``; its entries expire with it.
  written by the sweeper and the retention:
  - ``nw:sweeper``                   string: the lock that lets one worker sweep at a time.
  - ``nw:retention``                 string: the lock that lets one worker trim at a time.
  written by the alerts (``worker.alerts``): the deliver step, the webhook task, the API:
  - ``nw:alerts``                    stream (``NEWSWORKER_ALERTS_STREAM``): one entry per
                                     (rule, article) matched: rule, article, match (JSON).
  - ``nw:alerts:ledger:{rule}:{id}`` string: ``pending`` until the rule's webhook acknowledged
                                     the match, then ``sent``, or ``dead``; ``none`` (no webhook).
  - ``nw:alerts:dead``               stream: webhook calls that failed their last retry.
  - ``nw:alerts:rules``              hash: rule id -> rule (JSON), those made by ``POST /alerts``.
  - ``nw:alerts:rules-version``      counter: bumped on every change; workers reload then.
  - ``nw:alerts:sending:{rule}:{id}`` string: a webhook call in progress (expires).
  written by the workers' liveness (``worker.delivery.liveness``):
  - ``nw:workers``                   sorted set: each running worker (one id per start), scored
                                     by its last heartbeat (Redis server time).
  - ``nw:held:{worker}``             hash: task id → delivery tag of each message the worker
                                     took and has not finished (prefetched or running): what
                                     another worker gives back to the queue when it dies.
  - ``nw:liveness``                  string: the lock that lets one worker judge at a time.

  the broker's own keys (kombu, not prefixed; on the broker's Redis, which is this one unless
  ``NEWSWORKER_BROKER_URL`` names another):
  - ``{queue}`` (``NEWSWORKER_QUEUE``) list of task messages of priority 0 (deliver), and
    ``{queue}\x06\x162``, ``…4``, ``…6``, ``…8`` those of priority 2 to 8 (group, summarize,
    entities, clean, ``protocol.PRIORITY_STEPS``:
    ``Keys.queue_lists``); ``unacked`` / ``unacked_index`` /
    ``unacked_mutex`` the messages taken and not acknowledged; ``_kombu.binding.*``.

A *submission* names one processing of an article (``worker.delivery.protocol.ORDINARY`` for
the first). Landing is idempotent per (id, submission): a redelivered message that lands again
changes nothing, and an article lands in exactly one place (processed or dead).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import redis
import structlog

from config import Settings
from worker.delivery.protocol import HANDED_OVER, Ref, broker_lists

log = structlog.get_logger("worker.delivery")

# KEYS: state, payload, dead stream, inflight, then the stages' documents.
# ARGV: submission, id, stage, reason, kind, failed_at, state ttl (0: none), inflight member,
# payload (at most NEWSWORKER_DEAD_PAYLOAD_BYTES of it), its full size, its sha256, the
# landing channel. Writes one dead letter per (id, submission), never for an article already
# landed by it, and announces it on the channel.
_DEAD = """
local state = redis.call('GET', KEYS[1])
if state == 'processed:' .. ARGV[1] or state == 'dead:' .. ARGV[1] then return 0 end
local fields = {'id', ARGV[2], 'stage', ARGV[3], 'reason', ARGV[4], 'kind', ARGV[5],
                'submission', ARGV[1], 'failed_at', ARGV[6], 'payload', ARGV[9],
                'payload_bytes', ARGV[10], 'payload_sha256', ARGV[11]}
redis.call('XADD', KEYS[3], '*', unpack(fields))
if tonumber(ARGV[7]) > 0 then
  redis.call('SET', KEYS[1], 'dead:' .. ARGV[1], 'EX', ARGV[7])
else
  redis.call('SET', KEYS[1], 'dead:' .. ARGV[1])
end
redis.call('ZREM', KEYS[4], ARGV[8])
redis.call('DEL', KEYS[2], unpack(KEYS, 5))
redis.call('PUBLISH', ARGV[12], cjson.encode({{ARGV[2], 'dead:' .. ARGV[1]}}))
return 1
"""

# A batch landing as processed. KEYS: inflight, then per article: state, payload, the stages'
# documents (DOCS of them). ARGV: state ttl (NEWSWORKER_RECORD_TTL; 0: none), the landing
# channel, then per article: submission, inflight member, id. Returns 1 per article that
# landed now, 0 per one that had already landed (by this submission); announces those that
# landed now on the channel, in one message.
_PROCESSED = """
local per = 2 + %DOCS%
local ttl = tonumber(ARGV[1])
local out, landed = {}, {}
for i = 0, (#ARGV - 2) / 3 - 1 do
  local sub, member, id = ARGV[3 + 3 * i], ARGV[4 + 3 * i], ARGV[5 + 3 * i]
  local base = 1 + per * i
  local state = redis.call('GET', KEYS[base + 1])
  if state == 'processed:' .. sub or state == 'dead:' .. sub then
    out[#out + 1] = 0
  else
    if ttl > 0 then
      redis.call('SET', KEYS[base + 1], 'processed:' .. sub, 'EX', ttl)
    else
      redis.call('SET', KEYS[base + 1], 'processed:' .. sub)
    end
    redis.call('ZREM', KEYS[1], member)
    redis.call('DEL', unpack(KEYS, base + 2, base + per))
    out[#out + 1] = 1
    landed[#landed + 1] = {id, 'processed:' .. sub}
  end
end
if #landed > 0 then redis.call('PUBLISH', ARGV[2], cjson.encode(landed)) end
return out
""".replace("%DOCS%", str(len(HANDED_OVER)))


# A batch admitted. KEYS: inflight, then each article's payload key. ARGV: payload ttl, the
# time (the in-flight score), then per article: payload, inflight member. One ZADD for all.
_ADMIT = """
local ttl, now, members = ARGV[1], ARGV[2], {}
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], ARGV[2 * i - 1], 'EX', ttl)
  members[#members + 1] = now
  members[#members + 1] = ARGV[2 * i]
end
if #members > 0 then redis.call('ZADD', KEYS[1], unpack(members)) end
return #KEYS - 1
"""

# A batch taken by a stage. KEYS: the task's deliveries counter (any key when not counting),
# inflight, then the articles' states, then their inputs. ARGV: whether to count ('1': the
# delivery counted, the articles' in-flight scores set to now), now, then the articles'
# inflight members. Returns deliveries (0: not counted), states, inputs.
_TAKE = """
local n, deliveries = #ARGV - 2, 0
if ARGV[1] == '1' then
  deliveries = redis.call('INCR', KEYS[1])
  redis.call('EXPIRE', KEYS[1], 604800)
  local members = {}
  for i = 3, #ARGV do
    members[#members + 1] = ARGV[2]
    members[#members + 1] = ARGV[i]
  end
  if n > 0 then redis.call('ZADD', KEYS[2], 'XX', unpack(members)) end
end
if n == 0 then return {deliveries, {}, {}} end
return {deliveries, redis.call('MGET', unpack(KEYS, 3, 2 + n)),
        redis.call('MGET', unpack(KEYS, 3 + n, 2 + 2 * n))}
"""

# A task taken by a worker. KEYS: the worker's held hash. ARGV: task id, delivery tag.
_HOLD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], 604800)
"""

# A task returned. KEYS: its deliveries counter, the worker's held hash. ARGV: task id.
_FINISHED = """
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[2], ARGV[1])
"""

# A batch's documents as a stage left them. KEYS: the documents' keys. ARGV: their ttl, then
# the documents, in the order of KEYS.
_HAND_OVER = """
for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[1]) end
return #KEYS
"""

# KEYS: payloads. Returns the milliseconds each has left to live (PTTL: -2 where it is gone).
_PTTLS = """
local out = {}
for i = 1, #KEYS do out[i] = redis.call('PTTL', KEYS[i]) end
return out
"""


def connect(settings: Settings) -> redis.Redis:
    """A client of the Redis that holds the state (``NEWSWORKER_REDIS_URL``)."""
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


def id_key(article_id: str) -> str:
    """An article id as it stands in keys: a hash of the whole id."""
    return hashlib.sha256(article_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


class Keys:
    """The key map above, as names: the one place a key of newsworker is spelled."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.prefix = settings.key_prefix

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    def payload(self, article_id: str, submission: str) -> str:
        return self._key("payload", id_key(article_id), submission)

    def doc(self, article_id: str, submission: str, stage: str) -> str:
        return self._key("doc", id_key(article_id), submission, stage)

    def docs(self, article_id: str, submission: str) -> list[str]:
        return [self.doc(article_id, submission, stage) for stage in HANDED_OVER]

    def state(self, article_id: str) -> str:
        return self._key("state", id_key(article_id))

    @property
    def inflight(self) -> str:
        return self._key("inflight")

    def deliveries(self, delivery: str) -> str:
        return self._key("deliveries", delivery)

    @property
    def dead(self) -> str:
        return self._key(self.settings.dead_stream)

    def record(self, article_id: str) -> str:
        return self._key("article", id_key(article_id))

    def delivered(self, article_id: str) -> str:
        return self._key("delivered", id_key(article_id))

    @property
    def stream(self) -> str:
        return self._key(self.settings.stream)

    @property
    def landed(self) -> str:
        """The pub/sub channel announcing articles as they land (``Ledger.land``,
        ``Ledger.dead_letter``): what ``submit --wait`` listens to."""
        return self._key("landed")

    @property
    def chrome(self) -> str:
        return self._key("chrome")

    @property
    def grouping(self) -> str:
        """The prefix of the grouping index's keys (``worker.stories.index`` names them)."""
        return self._key("grp")

    @property
    def queue_lists(self) -> list[str]:
        """The broker's lists of the queue, one per priority step (kombu's names)."""
        return broker_lists(self.settings.queue)

    @property
    def sweeper_lock(self) -> str:
        return self._key("sweeper")

    @property
    def alerts(self) -> str:
        return self._key(self.settings.alerts_stream)

    @property
    def alerts_dead(self) -> str:
        return self._key(self.settings.alerts_stream, "dead")

    def alert_ledger(self, rule_id: str, article_id: str) -> str:
        return self._key("alerts", "ledger", rule_id, article_id)

    def alert_sending(self, rule_id: str, article_id: str) -> str:
        return self._key("alerts", "sending", rule_id, article_id)

    @property
    def alert_rules(self) -> str:
        return self._key("alerts", "rules")

    @property
    def alert_rules_version(self) -> str:
        return self._key("alerts", "rules-version")

    @property
    def retention_lock(self) -> str:
        return self._key("retention")

    @property
    def workers(self) -> str:
        return self._key("workers")

    def held(self, worker: str) -> str:
        return self._key("held", worker)

    @property
    def liveness_lock(self) -> str:
        return self._key("liveness")


def inflight_member(ref: Ref) -> str:
    return f"{ref.kind}:{ref.submission}:{ref.id}"


def parse_inflight_member(member: bytes) -> Ref:
    kind, submission, article_id = member.decode().split(":", 2)
    return Ref(article_id, kind, submission)


class Taken(NamedTuple):
    """What a stage takes from the ledger for a batch (``Ledger.take``)."""

    refs: list[Ref]  # the batch's articles not landed yet
    inputs: list[bytes | None]  # each one's input (payload, or previous stage's document)
    deliveries: int  # deliveries of the task's message so far, this one included (0: uncounted)


def _landed(ref: Ref, state: bytes | None) -> bool:
    """Whether the landing state ``state`` (``processed:{sub}``/``dead:{sub}``) is ``ref``'s."""
    return state is not None and state.decode().split(":", 1)[1] == ref.submission


@dataclass
class DeadEntry:
    entry_id: str
    id: str
    stage: str
    reason: str
    kind: str
    submission: str
    failed_at: str
    payload: bytes
    payload_bytes: int
    payload_sha256: str

    @property
    def truncated(self) -> bool:
        """Whether ``payload`` is only the start of what was submitted."""
        return len(self.payload) < self.payload_bytes


def dead_entry(entry_id: bytes, fields: dict[bytes, bytes]) -> DeadEntry:
    """A dead letter as the stream holds it (``entry_id``, its fields)."""
    f = {k.decode(): v for k, v in fields.items()}
    text = {k: f.get(k, b"").decode() for k in ("id", "stage", "reason", "kind")}
    payload = f.get("payload", b"")
    return DeadEntry(
        entry_id=entry_id.decode(),
        submission=f.get("submission", b"").decode(),
        failed_at=f.get("failed_at", b"").decode(),
        payload=payload,
        payload_bytes=int(f.get("payload_bytes", len(payload))),
        payload_sha256=f.get("payload_sha256", b"").decode() or hashlib.sha256(payload).hexdigest(),
        **text,
    )


class Ledger:
    """The articles in flight, their stage results, where they landed, and the dead letters."""

    def __init__(self, settings: Settings, client: redis.Redis | None = None) -> None:
        self.settings = settings
        self.keys = Keys(settings)
        self.redis = client or connect(settings)
        self._dead = self.redis.register_script(_DEAD)
        self._processed = self.redis.register_script(_PROCESSED)
        self._admit = self.redis.register_script(_ADMIT)
        self._take = self.redis.register_script(_TAKE)
        self._hold = self.redis.register_script(_HOLD)
        self._finished = self.redis.register_script(_FINISHED)
        self._hand_over = self.redis.register_script(_HAND_OVER)
        self._pttls = self.redis.register_script(_PTTLS)

    # -- the producer: admit, and watch them land -----------------------------------------
    def states(self, ids: list[str]) -> list[str | None]:
        """Where each id landed (``processed:{sub}``, ``dead:{sub}``), None if nowhere yet."""
        if not ids:
            return []
        values = self.redis.mget([self.keys.state(i) for i in ids])
        return [v.decode() if v is not None else None for v in values]

    def admit(self, items: Iterable[tuple[Ref, bytes]]) -> None:
        """Keep each submitted payload and mark its article in flight, in one script call."""
        keys, args = [self.keys.inflight], [self.settings.payload_ttl, time.time()]
        for ref, payload in items:
            keys.append(self.keys.payload(ref.id, ref.submission))
            args += [payload, inflight_member(ref)]
        if len(keys) > 1:
            self._admit(keys=keys, args=args)

    def forget(self, ids: list[str]) -> None:
        """Clear the landing state of these ids (for --force and retry-dead)."""
        if ids:
            self.redis.delete(*(self.keys.state(i) for i in ids))

    # -- the stages: take, hand over ------------------------------------------------------
    def take(self, stage: str, refs: list[Ref], delivery: str | None = None) -> Taken:
        """The articles of a batch that have not landed yet, with ``stage``'s input: the
        payload for the first stage, else the previous stage's result (None where it is gone),
        in one script call; with ``delivery`` (a task's id and retry), in the same call, the
        delivery counted (poison counting) and the articles noted as making progress. Those
        that already landed (a redelivered or duplicate message) are settled."""
        index = HANDED_OVER.index(stage) if stage in HANDED_OVER else len(HANDED_OVER)
        if index == 0:
            inputs = [self.keys.payload(r.id, r.submission) for r in refs]
        else:
            previous = HANDED_OVER[index - 1]
            inputs = [self.keys.doc(r.id, r.submission, previous) for r in refs]
        counter = self.keys.deliveries(delivery) if delivery is not None else self.keys.inflight
        keys = [counter, self.keys.inflight, *(self.keys.state(r.id) for r in refs), *inputs]
        args = ["1" if delivery is not None else "0", time.time(), *map(inflight_member, refs)]
        deliveries, states, values = self._take(keys=keys, args=args)
        fresh, taken = [], []
        for ref, state, value in zip(refs, states, values, strict=True):
            if _landed(ref, state):
                self._settle_landed(ref)
            else:
                fresh.append(ref)
                taken.append(value)
        return Taken(fresh, taken, int(deliveries))

    def hand_over(self, stage: str, docs: list[tuple[Ref, bytes]]) -> list[Ref]:
        """Keep the articles' documents (encoded) as ``stage`` left them, for the next stage, in
        one script call; their Refs, for the next stage's message."""
        if docs:
            keys = [self.keys.doc(ref.id, ref.submission, stage) for ref, _ in docs]
            self._hand_over(keys=keys, args=[self.settings.payload_ttl, *(d for _, d in docs)])
        return [ref for ref, _ in docs]

    def fresh(self, refs: list[Ref]) -> list[Ref]:
        """The articles not landed yet; the others' in-flight traces are settled."""
        out = []
        for ref, done in zip(refs, self.landed(refs), strict=True):
            if done:
                self._settle_landed(ref)
            else:
                out.append(ref)
        return out

    def _settle_landed(self, ref: Ref) -> None:
        with structlog.contextvars.bound_contextvars(article_id=ref.id):
            log.info("already_landed")
        self.settle(ref)

    def landed(self, refs: list[Ref]) -> list[bool]:
        """Whether each article already landed (processed or dead) by its submission."""
        states = self.redis.mget([self.keys.state(r.id) for r in refs]) if refs else []
        return [_landed(ref, state) for ref, state in zip(refs, states, strict=True)]

    # -- landing: exactly one place -------------------------------------------------------
    def land(self, refs: list[Ref]) -> list[bool]:
        """Record these articles as processed and announce them, in one script call; False
        for one that had already landed."""
        if not refs:
            return []
        keys, args = [self.keys.inflight], [self.settings.record_ttl, self.keys.landed]
        for ref in refs:
            keys += [self.keys.state(ref.id), self.keys.payload(ref.id, ref.submission),
                     *self.keys.docs(ref.id, ref.submission)]  # fmt: skip
            args += [ref.submission, inflight_member(ref), ref.id]
        return [bool(n) for n in self._processed(keys=keys, args=args)]

    def dead_letter(self, ref: Ref, *, stage: str, reason: str) -> bool:
        """Dead-letter the article with its original payload (at most
        NEWSWORKER_DEAD_PAYLOAD_BYTES of it, with its size and sha256); False if it had already
        landed."""
        keys = [
            self.keys.state(ref.id),
            self.keys.payload(ref.id, ref.submission),
            self.keys.dead,
            self.keys.inflight,
            *self.keys.docs(ref.id, ref.submission),
        ]
        payload = self.redis.get(keys[1]) or b""
        args = [ref.submission, ref.id, stage, reason[:2000], ref.kind, utcnow(),
                self.settings.record_ttl, inflight_member(ref),
                payload[: self.settings.dead_payload_bytes], len(payload),
                hashlib.sha256(payload).hexdigest(), self.keys.landed]  # fmt: skip
        return bool(self._dead(keys=keys, args=args))

    def settle(self, ref: Ref) -> None:
        """Drop the in-flight traces of a submission that has already landed (a duplicate
        submission stored its payload again after the first copy landed; a duplicate message
        left a stage's document)."""
        with self.redis.pipeline() as pipe:
            pipe.zrem(self.keys.inflight, inflight_member(ref))
            pipe.delete(
                self.keys.payload(ref.id, ref.submission), *self.keys.docs(ref.id, ref.submission)
            )
            pipe.execute()

    # -- progress: poison counting and the sweeper ----------------------------------------
    def finished(self, delivery: str, worker: str, task_id: str) -> None:
        """The task of this delivery returned: its message will not come back, and the worker
        no longer holds it (one script call)."""
        keys = [self.keys.deliveries(delivery), self.keys.held(worker)]
        self._finished(keys=keys, args=[task_id])

    # -- liveness: which worker holds which message, and which workers are gone -------------
    def now(self) -> float:
        """Redis server time: one clock for every worker's heartbeat."""
        seconds, micros = self.redis.time()
        return seconds + micros / 1e6

    def beat(self, worker: str) -> None:
        self.redis.zadd(self.keys.workers, {worker: self.now()})

    def hold(self, worker: str, task_id: str, tag: str) -> None:
        """The worker took this task's message (delivery ``tag``), in one script call."""
        self._hold(keys=[self.keys.held(worker)], args=[task_id, tag])

    def holdings(self, worker: str) -> dict[str, str]:
        """Task id → delivery tag of the messages the worker holds."""
        return {
            k.decode(): v.decode() for k, v in self.redis.hgetall(self.keys.held(worker)).items()
        }

    def held_tags(self) -> set[str]:
        """The delivery tags of the messages every known worker holds (prefetched, waiting,
        or running; a gone worker's until it is judged)."""
        workers = self.redis.zrange(self.keys.workers, 0, -1)
        with self.redis.pipeline(transaction=False) as pipe:
            for worker in workers:
                pipe.hvals(self.keys.held(worker.decode()))
            return {tag.decode() for tags in pipe.execute() for tag in tags}

    def let_go(self, worker: str, task_ids: Iterable[str]) -> None:
        if ids := list(task_ids):
            self.redis.hdel(self.keys.held(worker), *ids)

    def gone(self, silent: float) -> list[str]:
        """Workers whose last heartbeat is more than ``silent`` seconds old."""
        members = self.redis.zrangebyscore(self.keys.workers, "-inf", self.now() - silent)
        return [m.decode() for m in members]

    def forget_worker(self, worker: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.zrem(self.keys.workers, worker).delete(self.keys.held(worker))
            pipe.execute()

    def touch(self, ref: Ref) -> None:
        """Count the article as making progress now (re-enqueued, split)."""
        self.redis.zadd(self.keys.inflight, {inflight_member(ref): time.time()}, xx=True)

    def stalled(self, idle: float, limit: int = 1000) -> list[Ref]:
        """In-flight articles none of whose tasks started for ``idle`` seconds."""
        members = self.redis.zrangebyscore(
            self.keys.inflight, "-inf", time.time() - idle, start=0, num=limit
        )
        return [parse_inflight_member(m) for m in members]

    def payloads(self, refs: list[Ref]) -> list[bytes | None]:
        keys = [self.keys.payload(r.id, r.submission) for r in refs]
        return self.redis.mget(keys) if keys else []

    def payload_ttls(self, refs: list[Ref]) -> list[int]:
        """The milliseconds each article's payload has left to live (negative where it is
        gone), in one script call."""
        keys = [self.keys.payload(r.id, r.submission) for r in refs]
        return [int(ms) for ms in self._pttls(keys=keys)] if keys else []

    def have_payloads(self, refs: list[Ref]) -> list[bool]:
        """Whether each article's payload is still kept (without reading it)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for r in refs:
                pipe.exists(self.keys.payload(r.id, r.submission))
            return [bool(n) for n in pipe.execute()]

    # -- dead letters -----------------------------------------------------------------------
    def dead_entries(
        self, count: int | None = None, *, newest_first: bool = False
    ) -> Iterator[DeadEntry]:
        last = "+" if newest_first else "-"
        while True:
            if newest_first:
                batch = self.redis.xrevrange(self.keys.dead, max=last, min="-", count=500)
            else:
                batch = self.redis.xrange(self.keys.dead, min=last, max="+", count=500)
            if not batch:
                return
            for entry_id, fields in batch:
                yield dead_entry(entry_id, fields)
                if count is not None:
                    count -= 1
                    if count <= 0:
                        return
            last = "(" + batch[-1][0].decode()

    def remove_dead(self, entry_ids: list[str]) -> None:
        if entry_ids:
            self.redis.xdel(self.keys.dead, *entry_ids)
