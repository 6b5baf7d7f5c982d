"""The grouping index in Redis, shared by every worker; insert-and-query made atomic in Lua.

Time is cut into *buckets* of ``window / BUCKETS_PER_WINDOW`` seconds; an article is indexed in
the bucket of the moment it is grouped, and a bucket's keys expire once the newest article in it
has left the window (so an entry lives between one window and one window plus a bucket). A
query looks at every bucket the window touches and ignores entries older than the window.

Keys (``nw`` is ``NEWSWORKER_KEY_PREFIX``, ``{b}`` a bucket's number: unix time // bucket size):

- ``nw:grp:seq``            STRING  counter: every indexed article gets the next number (*seq*).
- ``nw:grp:{b}:ids``        HASH    article id → its seq: an article is indexed once (a
  redelivered or ``--force``d article finds itself here and gets its first grouping back).
- ``nw:grp:{b}:docs``       HASH    seq → the entry (:func:`pack`): id, story, duplicate_of,
  source, time, shingle count, 8 bits of each MinHash value, its top terms with their tf-idf
  weights when it was indexed (8 bits), its entities with their salience (8 bits).
- ``nw:grp:{b}:lsh``        HASH    LSH band key (4 bytes) → ``seq,seq,…`` of the articles
  with that band (the first ``LSH_CAP``: the earliest are the ones a reprint links to).
- ``nw:grp:{b}:terms``      HASH    term or entity hash (4 bytes) → ``seq,…``: the articles that
  have it among their ``POSTED`` weightiest terms and entities (the last ``POST_CAP``).
- ``nw:grp:{b}:df``         STRING  ``DF_SLOTS`` saturating 16-bit counters (BITFIELD): in how
  many of the bucket's articles a term (hash mod ``DF_SLOTS``) occurs, for idf.
- ``nw:grp:{b}:n``          STRING  how many articles the bucket's ``df`` counted.
- ``nw:grp:story:{sid}``    HASH    first_id, first_source, first_seen, first_title, size,
  last_seen of a story; expires a window and a bucket after its last article joined.
- ``nw:grp:story:{sid}:members``  ZSET  article id → unix time it joined, those of the window
  (older ones are dropped at each join, so a story that goes on for months stays one window).
- ``nw:grp:stories``        ZSET    story id → last_seen, stories active in the window.

**Atomicity.** :meth:`StoryIndex.query` reads the candidates (the articles sharing an LSH band
or a posted term with the newcomer) and the highest seq at that moment; the worker decides in
Python (``worker.stories.group``); :meth:`StoryIndex.commit` then runs one Lua script that
refuses (``conflict``) if any article indexed since that seq shares a band or posted term with
the newcomer — it could have changed the decision — and otherwise indexes the newcomer and
joins or founds its story in the same step. So two reprints grouped at the same instant by two
workers still see each other (one of them retries), and a story never splits by a race.
"""

from __future__ import annotations

import hashlib
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis

from worker.stories.signatures import NUM_PERM
from worker.stories.similarity import low_bits

BUCKETS_PER_WINDOW = 6
LSH_CAP = 16
POST_CAP = 32
POSTED = 8  # weightiest terms an article is posted under (and looks up)
POSTED_ENTITIES = 3
MAX_CANDIDATES = 32
DF_SLOTS = 1 << 17

# KEYS: per live bucket: df, n. ARGV: counter offsets. Returns {articles, df of each offset…}.
_DF = """
local nb = #KEYS / 2
local total, counts = 0, {}
for j = 1, #ARGV do counts[j] = 0 end
for i = 0, nb - 1 do
  total = total + tonumber(redis.call('GET', KEYS[2 + 2 * i]) or '0')
  if #ARGV > 0 and redis.call('EXISTS', KEYS[1 + 2 * i]) == 1 then
    for first = 1, #ARGV, 500 do  -- in chunks: Lua's unpack() takes a few thousand values
      local ops = {}
      for j = first, math.min(#ARGV, first + 499) do
        ops[#ops + 1] = 'GET'; ops[#ops + 1] = 'u16'; ops[#ops + 1] = '#' .. ARGV[j]
      end
      local got = redis.call('BITFIELD_RO', KEYS[1 + 2 * i], unpack(ops))
      for k = 1, #got do counts[first + k - 1] = counts[first + k - 1] + got[k] end
    end
  end
end
local out = {total}
for j = 1, #ARGV do out[#out + 1] = counts[j] end
return out
"""

# KEYS: seq, then per live bucket (newest first): ids, docs, lsh, terms.
# ARGV: article id, number of live buckets, number of band keys, band keys…, posted keys…
# Returns {seq now, existing entry or false, candidate entries…}.
_QUERY = """
local nb = tonumber(ARGV[2])
local nbands = tonumber(ARGV[3])
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
for i = 0, nb - 1 do
  local s = redis.call('HGET', KEYS[2 + 4 * i], ARGV[1])
  if s then return {seq, redis.call('HGET', KEYS[3 + 4 * i], s)} end
end
local hits, where, order = {}, {}, {}
for i = 0, nb - 1 do
  for j = 4, #ARGV do
    local key = (j < 4 + nbands) and KEYS[4 + 4 * i] or KEYS[5 + 4 * i]
    local weight = (j < 4 + nbands) and 2 or 1
    local list = redis.call('HGET', key, ARGV[j])
    if list then
      for s in string.gmatch(list, '%d+') do
        if not hits[s] then hits[s] = 0; where[s] = i; order[#order + 1] = s end
        hits[s] = hits[s] + weight
      end
    end
  end
end
table.sort(order, function(a, b)
  if hits[a] ~= hits[b] then return hits[a] > hits[b] end
  return tonumber(a) < tonumber(b)
end)
local out = {seq, false}
for k = 1, math.min(#order, %MAXC%) do
  local s = order[k]
  local doc = redis.call('HGET', KEYS[3 + 4 * where[s]], s)
  if doc then out[#out + 1] = doc end
end
return out
""".replace("%MAXC%", str(MAX_CANDIDATES))

# KEYS: 1 seq, 2 stories, 3 story, 4 members; the current bucket: 5 ids, 6 docs, 7 lsh, 8 terms,
#       9 df, 10 n; the next bucket: 11 lsh, 12 terms; then per live bucket: ids, docs.
# ARGV: 1 id, 2 seq seen by the query, 3 now, 4 bucket expiry (unix), 5 story ttl, 6 window,
#       7 story id, 8 source, 9 title, 10 first_seen, 11 entry (without its seq), 12 live buckets,
#       13 band count, 14 posted count, 15 df offset count, then bands, posted, df offsets.
# An article indexed after the query was indexed at a later time: in the current bucket or,
# past its end, the next one; only those two are searched for conflicts.
_COMMIT = """
local nb = tonumber(ARGV[12])
local nbands, nposted, ndf = tonumber(ARGV[13]), tonumber(ARGV[14]), tonumber(ARGV[15])
local seen = tonumber(ARGV[2])
local function story_fields()
  return redis.call('HMGET', KEYS[3], 'first_id', 'first_source', 'first_seen', 'size')
end
for i = 0, nb - 1 do
  local s = redis.call('HGET', KEYS[13 + 2 * i], ARGV[1])
  if s then
    local doc = redis.call('HGET', KEYS[14 + 2 * i], s)
    return {'existing', doc}
  end
end
for _, pair in ipairs({{7, 8}, {11, 12}}) do
  for j = 16, 15 + nbands + nposted do
    local key = (j < 16 + nbands) and KEYS[pair[1]] or KEYS[pair[2]]
    local list = redis.call('HGET', key, ARGV[j])
    if list then
      local last = string.match(list, '(%d+)$')
      if last and tonumber(last) > seen then return {'conflict'} end
    end
  end
end
local seq = redis.call('INCR', KEYS[1])
local s = tostring(seq)
redis.call('HSET', KEYS[5], ARGV[1], s)
redis.call('HSET', KEYS[6], s, s .. '|' .. ARGV[11])
for j = 16, 15 + nbands do
  local list = redis.call('HGET', KEYS[7], ARGV[j])
  if not list then
    redis.call('HSET', KEYS[7], ARGV[j], s)
  else
    local _, n = string.gsub(list, ',', ',')
    if n + 1 < tonumber(%LSH_CAP%) then redis.call('HSET', KEYS[7], ARGV[j], list .. ',' .. s) end
  end
end
for j = 16 + nbands, 15 + nbands + nposted do
  local list = redis.call('HGET', KEYS[8], ARGV[j])
  if not list then
    redis.call('HSET', KEYS[8], ARGV[j], s)
  else
    local _, n = string.gsub(list, ',', ',')
    if n + 1 >= tonumber(%POST_CAP%) then list = string.gsub(list, '^%d+,', '') end
    redis.call('HSET', KEYS[8], ARGV[j], list .. ',' .. s)
  end
end
local from = 16 + nbands + nposted
for first = from, from + ndf - 1, 500 do  -- in chunks, as in the df script
  local ops = {'OVERFLOW', 'SAT'}
  for j = first, math.min(from + ndf - 1, first + 499) do
    ops[#ops + 1] = 'INCRBY'; ops[#ops + 1] = 'u16'; ops[#ops + 1] = '#' .. ARGV[j]
    ops[#ops + 1] = 1
  end
  redis.call('BITFIELD', KEYS[9], unpack(ops))
end
redis.call('INCR', KEYS[10])
for k = 5, 10 do redis.call('EXPIREAT', KEYS[k], ARGV[4]) end
local now = tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 0 then
  redis.call('HSET', KEYS[3], 'first_id', ARGV[1], 'first_source', ARGV[8],
             'first_seen', ARGV[10], 'first_title', ARGV[9], 'size', 0)
end
redis.call('HINCRBY', KEYS[3], 'size', 1)
redis.call('HSET', KEYS[3], 'last_seen', ARGV[3])
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[6]))
redis.call('EXPIRE', KEYS[3], ARGV[5])
redis.call('EXPIRE', KEYS[4], ARGV[5])
redis.call('ZADD', KEYS[2], now, ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[6]))
return {'ok', s, story_fields()}
""".replace("%LSH_CAP%", str(LSH_CAP)).replace("%POST_CAP%", str(POST_CAP))


@dataclass(frozen=True)
class Entry:
    """One indexed article, as :func:`unpack` reads it back."""

    seq: int
    id: str
    story: str
    duplicate_of: str | None
    source: str | None
    seen: float
    shingles: int
    minhash: np.ndarray  # uint8[NUM_PERM]: the low bits of each value
    terms: dict[int, float]  # term hash → tf-idf weight (relative to the largest)
    entities: dict[int, float]
    marks: frozenset[int]  # the headline's numbers and dates, hashed


@dataclass(frozen=True)
class Story:
    id: str
    first_id: str
    first_source: str | None
    first_seen: str
    size: int


_HEAD = struct.Struct("<dIBB")


def pack(
    article_id: str,
    story: str,
    duplicate_of: str | None,
    source: str | None,
    seen: float,
    shingles: int,
    minhash: np.ndarray,
    terms: dict[int, float],
    entities: dict[int, float],
    marks: frozenset[int] = frozenset(),
) -> bytes:
    """An entry as stored (its seq is put in front by the commit script)."""
    names = "\x1f".join((article_id, story, duplicate_of or "", source or "")).encode()
    out = [
        struct.pack("<H", len(names)),
        names,
        _HEAD.pack(seen, shingles, len(terms), len(entities)),
        low_bits(minhash).tobytes(),
    ]
    top = max(terms.values(), default=1.0) or 1.0
    out += [struct.pack("<IB", h, max(1, round(255 * w / top))) for h, w in terms.items()]
    out += [struct.pack("<IB", h, round(255 * min(1.0, s))) for h, s in entities.items()]
    kept = sorted(marks)[:255]
    out += [struct.pack("<B", len(kept)), *(struct.pack("<I", m) for m in kept)]
    return b"".join(out)


def unpack(raw: bytes) -> Entry:
    seq_text, _, body = raw.partition(b"|")
    (n,) = struct.unpack_from("<H", body)
    article_id, story, dup, source = body[2 : 2 + n].decode().split("\x1f")
    pos = 2 + n
    seen, shingles, nterms, nents = _HEAD.unpack_from(body, pos)
    pos += _HEAD.size
    minhash = np.frombuffer(body, dtype=np.uint8, count=NUM_PERM, offset=pos).copy()
    pos += NUM_PERM
    terms = _weights(body, pos, nterms)
    ents = _weights(body, pos + 5 * nterms, nents)
    pos += 5 * (nterms + nents)
    (nmarks,) = struct.unpack_from("<B", body, pos)
    marks = frozenset(np.frombuffer(body, dtype="<u4", count=nmarks, offset=pos + 1).tolist())
    return Entry(
        seq=int(seq_text),
        id=article_id,
        story=story,
        duplicate_of=dup or None,
        source=source or None,
        seen=seen,
        shingles=shingles,
        minhash=minhash,
        terms=terms,
        entities=ents,
        marks=marks,
    )


def field_key(h: int) -> bytes:
    """A term's or entity's hash as the index's hash field (4 bytes)."""
    return struct.pack("<I", h)


_WEIGHT = np.dtype([("hash", "<u4"), ("weight", "u1")])


def _weights(body: bytes, pos: int, n: int) -> dict[int, float]:
    """``n`` packed (hash, 8-bit weight) pairs at ``pos``, weights back in 0..1."""
    pairs = np.frombuffer(body, dtype=_WEIGHT, count=n, offset=pos)
    return dict(zip(pairs["hash"].tolist(), (pairs["weight"] / 255).tolist()))


def story_id(first_id: str) -> str:
    """A story's id: derived from its first article's id (12 hex digits)."""
    return hashlib.blake2b(first_id.encode(), digest_size=6).hexdigest()


def iso(seconds: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int(seconds % 1 * 1000):03d}+00:00"
    )


@dataclass(frozen=True)
class Query:
    seq: int
    existing: Entry | None
    candidates: list[Entry]


@dataclass(frozen=True)
class Committed:
    status: str  # "ok", "existing" or "conflict"
    entry: Entry | None = None
    story: Story | None = None


class StoryIndex:
    """The Redis side of grouping: reads candidates, commits decisions, lists stories."""

    def __init__(self, client: redis.Redis, prefix: str, window: float) -> None:
        self.redis = client
        self.prefix = prefix  # e.g. "nw:grp"
        self.window = float(window)
        self.bucket_seconds = self.window / BUCKETS_PER_WINDOW
        self._df = client.register_script(_DF)
        self._query = client.register_script(_QUERY)
        self._commit = client.register_script(_COMMIT)

    # -- keys ---------------------------------------------------------------------------
    def key(self, *parts: object) -> str:
        return ":".join((self.prefix, *map(str, parts)))

    def bucket(self, now: float) -> int:
        return int(now // self.bucket_seconds)

    def live_buckets(self, now: float) -> list[int]:
        """Buckets the window ending at ``now`` touches, newest first."""
        newest = self.bucket(now)
        oldest = self.bucket(now - self.window)
        return list(range(newest, oldest - 1, -1))

    def _bucket_keys(self, b: int) -> list[str]:
        return [self.key(b, "ids"), self.key(b, "docs"), self.key(b, "lsh"), self.key(b, "terms")]

    def story_key(self, sid: str) -> str:
        return self.key("story", sid)

    # -- document frequencies -----------------------------------------------------------
    def document_frequencies(self, terms: Sequence[int], now: float) -> tuple[dict[int, int], int]:
        """(df of each term, number of articles) over the window."""
        terms = list(dict.fromkeys(terms))
        keys = []
        for b in self.live_buckets(now):
            keys += [self.key(b, "df"), self.key(b, "n")]
        n, *counts = self._df(keys=keys, args=[t % DF_SLOTS for t in terms])
        return dict(zip(terms, map(int, counts))), int(n)

    def observe(self, term_sets: Sequence[Sequence[int]], now: float) -> None:
        """Count articles' terms into the document frequencies without indexing them (to start
        an evaluation from a window that has seen a day's news, as the tf-idf baseline does)."""
        b = self.bucket(now)
        expire = int((b + 1) * self.bucket_seconds + self.window)
        with self.redis.pipeline(transaction=False) as pipe:
            for terms in term_sets:
                ops = ["OVERFLOW", "SAT"]
                for t in set(terms):
                    ops += ["INCRBY", "u16", f"#{t % DF_SLOTS}", 1]
                pipe.execute_command("BITFIELD", self.key(b, "df"), *ops)
                pipe.incr(self.key(b, "n"))
            pipe.expireat(self.key(b, "df"), expire).expireat(self.key(b, "n"), expire)
            pipe.execute()

    # -- insert and query ---------------------------------------------------------------
    def query(
        self, article_id: str, bands: Sequence[bytes], posted: Sequence[bytes], now: float
    ) -> Query:
        keys = [self.key("seq")]
        buckets = self.live_buckets(now)
        for b in buckets:
            keys += self._bucket_keys(b)
        args = [article_id, len(buckets), len(bands), *bands, *posted]
        seq, existing, *docs = self._query(keys=keys, args=args)
        return Query(
            seq=int(seq),
            existing=unpack(existing) if existing else None,
            candidates=[unpack(d) for d in docs],
        )

    def commit_call(
        self,
        *,
        article_id: str,
        seen_seq: int,
        now: float,
        story: str,
        source: str | None,
        title: str | None,
        entry: bytes,
        bands: Sequence[bytes],
        posted: Sequence[bytes],
        terms: Sequence[int],
    ) -> tuple[list[str], list[object]]:
        """The keys and arguments of the commit script (see :meth:`commit`)."""
        b = self.bucket(now)
        buckets = self.live_buckets(now)
        keys = [self.key("seq"), self.key("stories"), self.story_key(story)]
        keys += [self.key("story", story, "members")]
        keys += [*self._bucket_keys(b), self.key(b, "df"), self.key(b, "n")]
        keys += [self.key(b + 1, "lsh"), self.key(b + 1, "terms")]
        for live in buckets:
            keys += [self.key(live, "ids"), self.key(live, "docs")]
        expire = int((b + 1) * self.bucket_seconds + self.window)
        story_ttl = int(self.window + self.bucket_seconds) + 1
        offsets = sorted({t % DF_SLOTS for t in terms})
        args: list[object] = [
            article_id,
            seen_seq,
            repr(now),
            expire,
            story_ttl,
            repr(self.window),
            story,
            source or "",
            (title or "")[:300],
            iso(now),
            entry,
            len(buckets),
            len(bands),
            len(posted),
            len(offsets),
            *bands,
            *posted,
            *offsets,
        ]
        return keys, args

    def commit(self, **call: Any) -> Committed:
        """Index the article and join (or found) ``story``, unless an article indexed since
        ``seen_seq`` shares a band or posted term with it (``conflict``: query again) or the
        article is already indexed (``existing``: its first grouping)."""
        keys, args = self.commit_call(**call)
        reply = self._commit(keys=keys, args=args)
        status = reply[0].decode()
        if status == "conflict":
            return Committed("conflict")
        if status == "existing":
            found = unpack(reply[1])
            return Committed("existing", found, self.story(found.story))
        article_id = str(call["article_id"])
        story = str(call["story"])
        first_id, first_source, first_seen, size = (v.decode() if v else None for v in reply[2])
        return Committed(
            "ok",
            None,
            Story(
                story,
                first_id or article_id,
                first_source or None,
                first_seen or "",
                int(size or 1),
            ),
        )

    # -- reading stories ----------------------------------------------------------------
    def story(self, sid: str) -> Story | None:
        fields = self.redis.hmget(
            self.story_key(sid), "first_id", "first_source", "first_seen", "size"
        )
        if fields[0] is None:
            return None
        first_id, first_source, first_seen, size = (v.decode() if v else None for v in fields)
        return Story(sid, first_id or "", first_source, first_seen or "", int(size or 0))

    def recent(self, count: int, now: float | None = None) -> list[dict]:
        """The stories active in the window, the most recently joined first."""
        now = time.time() if now is None else now
        ids = self.redis.zrevrangebyscore(
            self.key("stories"), "+inf", now - self.window, start=0, num=count
        )
        with self.redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.hgetall(self.story_key(sid.decode()))
            rows = pipe.execute()
        out = []
        for sid, row in zip(ids, rows):
            if not row:
                continue
            f = {k.decode(): v.decode() for k, v in row.items()}
            out.append(
                {
                    "id": sid.decode(),
                    "size": int(f.get("size", 0)),
                    "first_source": f.get("first_source") or None,
                    "first_title": f.get("first_title") or None,
                    "first_id": f.get("first_id"),
                    "first_seen": f.get("first_seen"),
                    "last_seen": iso(float(f.get("last_seen", 0))),
                }
            )
        return out

    def members(self, sid: str) -> list[tuple[str, float]]:
        """(article id, unix time it joined) of a story's articles, in time order."""
        rows = self.redis.zrange(self.key("story", sid, "members"), 0, -1, withscores=True)
        return [(m.decode(), score) for m, score in rows]

    def entry(self, article_id: str, now: float | None = None) -> Entry | None:
        """An article's entry, if it is indexed in the window."""
        now = time.time() if now is None else now
        for b in self.live_buckets(now):
            seq = self.redis.hget(self.key(b, "ids"), article_id)
            if seq is not None:
                raw = self.redis.hget(self.key(b, "docs"), seq)
                return unpack(raw) if raw else None
        return None
