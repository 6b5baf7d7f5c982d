"""The grouping index in Redis, shared by every worker; insert-and-query made atomic in Lua.

Time is cut into *buckets* of ``window / BUCKETS_PER_WINDOW`` seconds; an article is indexed in
the bucket of the moment it is grouped, and a bucket's keys expire once the newest article in it
has left the window (so an entry lives between one window and one window plus a bucket). A
query looks at every bucket the window touches and ignores entries older than the window.

Keys (``nw`` is ``NEWSWORKER_KEY_PREFIX``, ``{b}`` a bucket's number: unix time // bucket size):

- ``nw:grp:seq``            STRING  counter: every indexed article gets the next number (*seq*).
- ``nw:grp:{b}:n``          STRING  how many articles the bucket's ``df`` counted.
- ``nw:grp:{b}:df``         STRING  ``DF_SLOTS`` saturating 16-bit counters (BITFIELD): in how
  many of the bucket's articles a term (hash mod ``DF_SLOTS``) occurs, for idf.
- ``nw:grp:{b}:docs``       HASH    seq → the entry (:func:`pack`): id, story, duplicate_of,
  source, time, shingle count, 8 bits of each MinHash value, its top terms with their tf-idf
  weights when it was indexed (8 bits), its entities with their salience (8 bits).
- ``nw:grp:{b}:{k}:{s}``    HASH    the bucket's look-ups, *sharded* into small hashes that Redis
  keeps in its compact listpack encoding (under its default ``hash-max-listpack-entries`` 128
  and ``-value`` 64 bytes); kind ``k`` is
  ``i`` (an article id's 64-bit hash, hex → its seq: an article is indexed once, a redelivered
  or ``--force``d one finds itself and gets its first grouping back),
  ``l`` (an LSH band's 32-bit key → ``seq,seq,…``, the first ``LSH_CAP`` articles with it: the
  earliest are the ones a reprint links to) or
  ``t`` (a term's or entity's 32-bit hash → ``seq,…``, the last ``POST_CAP`` articles that have
  it among their ``POSTED`` weightiest terms and ``POSTED_ENTITIES`` entities).
- ``nw:grp:{b}:lh``         HASH    per kind, the shards' *linear hashing* state: ``{k}L`` (level),
  ``{k}s`` (split pointer), ``{k}f`` (fields). A field (its first 32 bits ``u``) is in shard
  ``u mod 2^L``, or ``u mod 2^(L+1)`` if that is below the split pointer; when the fields pass
  ``LOAD`` per shard, the shard at the pointer splits in two (its fields rehashed, the pointer
  moves on): a shard holds about ``LOAD`` fields at any size, and a look-up is one HGET.
- ``nw:grp:story:{sid}``    HASH    first_id, first_source, first_seen, first_title, size,
  last_seen of a story; expires a window and a bucket after its last article joined.
- ``nw:grp:story:{sid}:members``  ZSET  article id → unix time it joined, those of the window
  (older ones are dropped at each join, so a story that goes on for months stays one window).
- ``nw:grp:stories``        ZSET    story id → last_seen, stories active in the window.

The scripts name the sharded keys themselves (a standalone Redis, as the rest of the project;
not Redis Cluster).

**Atomicity, a batch at a time.** :meth:`StoryIndex.query` reads, for every article of a
batch in one script, whether it is indexed already, the document frequencies of its terms
(and, from them, the terms it is posted under), its candidates (the articles sharing an LSH
band or a posted term with it) and the highest seq at that moment; the worker decides in Python
(``worker.stories.group``), the earlier articles of its own batch among each one's candidates;
:meth:`StoryIndex.commit` then runs one script that indexes the batch in order and joins or
founds each one's story — but stops at the first article for which an article indexed by
someone else since that seq shares a band or posted term (it could have changed the decision:
``retry``, query again) or which is indexed already. So two reprints grouped at the same instant
by two workers still see each other (one of them retries), and a story never splits by a race.
Two round trips a batch, whatever its size.
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import redis

from worker.stories.signatures import NUM_PERM
from worker.stories.similarity import low_bits

BUCKETS_PER_WINDOW = 6
LSH_CAP = 6  # (six seqs of up to 9 digits stay under a listpack value's 64 bytes)
POST_CAP = 6
POSTED = 8  # weightiest terms an article is posted under (and looks up)
POSTED_ENTITIES = 3
MAX_CANDIDATES = 32
DF_SLOTS = 1 << 17
LOAD = 40  # fields a shard holds on average (linear hashing: one more shard past that)

# Shared by both scripts. P: the key prefix; counts[b]: articles the bucket has counted.
_COMMON = """
local req = cjson.decode(ARGV[1])
local P = req.p
local counts = {}
local function count(b)
  if not counts[b] then counts[b] = tonumber(redis.call('GET', P .. ':' .. b .. ':n') or '0') end
  return counts[b]
end
-- Linear hashing: a kind's fields in bucket b live in shards 0 .. 2^L + split - 1; state[b][kind]
-- = {L, split, fields}, read once per script, written back by save().
local state, dirty = {}, {}
local function st(b, kind)
  state[b] = state[b] or {}
  if not state[b][kind] then
    local v = redis.call('HMGET', P .. ':' .. b .. ':lh', kind .. 'L', kind .. 's', kind .. 'f')
    state[b][kind] = {tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')}
  end
  return state[b][kind]
end
local function num(kind, f)
  if kind == 'i' then return tonumber(string.sub(f, 1, 8), 16) end
  return tonumber(f)
end
local function shard_of(b, kind, a) return P .. ':' .. b .. ':' .. kind .. ':' .. a end
local function shard(b, kind, f)
  local s = st(b, kind)
  local u = num(kind, f)
  local a = u % (2 ^ s[1])
  if a < s[2] then a = u % (2 ^ (s[1] + 1)) end
  return shard_of(b, kind, string.format('%d', a))
end
-- the value of field f (a string) in bucket b, as a list (empty or one)
local function lookup(b, kind, f)
  local v = redis.call('HGET', shard(b, kind, f), f)
  if v then return {v} end
  return {}
end
local function indexed(id)  -- bucket, seq of an indexed article id hash, or nil
  for _, b in ipairs(req.live) do
    local v = lookup(b, 'i', id)
    if v[1] then return b, v[1] end
  end
  return nil
end
local function story_fields(sid)
  return redis.call('HMGET', P .. ':story:' .. sid, 'first_id', 'first_source', 'first_seen',
                    'size')
end
local function story_of(doc)  -- the story id inside an entry (see pack())
  local body = string.sub(doc, string.find(doc, '|', 1, true) + 1)
  local n = struct.unpack('<H', body)
  local _, sid = string.match(string.sub(body, 3, 2 + n), '^([^\\31]*)\\31([^\\31]*)')
  return sid
end
local function existing(b, s)
  local doc = redis.call('HGET', P .. ':' .. b .. ':docs', s)
  return {'existing', doc, story_fields(story_of(doc))}
end
"""

# ARGV[1]: {p, live: [buckets, newest first], maxc, posted, items: [{id, bands, terms: [[hash,
# tf], …], ents}]}. Returns {seq, then per item: {'existing', entry, story fields} or
# {'new', n, dfs (a list), posted (a list), candidate entries…}}.
_QUERY = (
    _COMMON
    + """
local seq = tonumber(redis.call('GET', P .. ':seq') or '0')
local out = {seq}
local total = 0
for _, b in ipairs(req.live) do total = total + count(b) end
for _, it in ipairs(req.items) do
  local b0, s0 = indexed(it.id)
  if b0 then
    out[#out + 1] = existing(b0, s0)
  else
    local df = {}
    for j = 1, #it.terms do df[j] = 0 end
    for _, b in ipairs(req.live) do
      local key = P .. ':' .. b .. ':df'
      if #it.terms > 0 and redis.call('EXISTS', key) == 1 then
        for first = 1, #it.terms, 500 do  -- in chunks: Lua's unpack() takes a few thousand
          local ops = {}
          for j = first, math.min(#it.terms, first + 499) do
            ops[#ops + 1] = 'GET'; ops[#ops + 1] = 'u16'
            ops[#ops + 1] = '#' .. string.format('%d', it.terms[j][1] % %SLOTS%)
          end
          local got = redis.call('BITFIELD_RO', key, unpack(ops))
          for k = 1, #got do df[first + k - 1] = df[first + k - 1] + got[k] end
        end
      end
    end
    -- posted: the weightiest terms (tf-idf as similarity.tfidf weighs them), then entities
    local order = {}
    for j = 1, #it.terms do
      local w = (1 + math.log(it.terms[j][2])) * (math.log((total + 1) / (df[j] + 1)) + 1)
      order[j] = {w, it.terms[j][1]}
    end
    table.sort(order, function(x, y)
      if x[1] ~= y[1] then return x[1] > y[1] end
      return x[2] < y[2]
    end)
    local posted, seen = {}, {}
    for j = 1, math.min(#order, req.posted) do
      local f = string.format('%d', order[j][2])
      posted[#posted + 1] = f; seen[f] = true
    end
    for _, e in ipairs(it.ents) do
      local f = string.format('%d', e)
      if not seen[f] then posted[#posted + 1] = f; seen[f] = true end
    end
    local hits, where, ranked = {}, {}, {}
    for _, b in ipairs(req.live) do
      for pass = 1, 2 do
        local kind, fields, weight = 'l', it.bands, 2
        if pass == 2 then kind, fields, weight = 't', posted, 1 end
        for _, f in ipairs(fields) do
          for _, list in ipairs(lookup(b, kind, string.format('%d', f))) do
            for s in string.gmatch(list, '%d+') do
              if not hits[s] then hits[s] = 0; where[s] = b; ranked[#ranked + 1] = s end
              hits[s] = hits[s] + weight
            end
          end
        end
      end
    end
    table.sort(ranked, function(x, y)
      if hits[x] ~= hits[y] then return hits[x] > hits[y] end
      return tonumber(x) < tonumber(y)
    end)
    local row = {'new', total, cjson.encode(df), cjson.encode(posted)}
    for k = 1, math.min(#ranked, req.maxc) do
      local doc = redis.call('HGET', P .. ':' .. where[ranked[k]] .. ':docs', ranked[k])
      if doc then row[#row + 1] = doc end
    end
    out[#out + 1] = row
  end
end
return out
"""
)

# ARGV[1]: {p, live, seen (the query's seq), now, expire, ttl, window, items: [{id, aid, story,
# source, title, first_seen, bands, posted, offsets}]}; ARGV[1 + k]: item k's entry (pack()).
# Returns per item, in order, until the first that is not indexed: {'ok', seq, story fields},
# {'existing', entry, story fields} or {'retry'}; the items after an 'existing' or 'retry'
# are not looked at (their decisions may have counted on it).
_COMMIT = (
    _COMMON
    + """
local base = tonumber(redis.call('GET', P .. ':seq') or '0')
local seen = tonumber(req.seen)
local cur = req.live[1]
local now = tonumber(req.now)
local out = {}
local touched = {}
local function split(b, kind)  -- the next shard in line splits in two
  local s = st(b, kind)
  local size = 2 ^ s[1]
  local from = shard_of(b, kind, string.format('%d', s[2]))
  local to = shard_of(b, kind, string.format('%d', s[2] + size))
  local all = redis.call('HGETALL', from)
  for j = 1, #all, 2 do
    if num(kind, all[j]) % (2 * size) ~= s[2] then
      redis.call('HSET', to, all[j], all[j + 1])
      redis.call('HDEL', from, all[j])
      touched[to] = true
    end
  end
  s[2] = s[2] + 1
  if s[2] == size then s[1] = s[1] + 1; s[2] = 0 end
end
local function put(b, kind, f, s, cap, keep_first)
  local key = shard(b, kind, f)
  touched[key] = true
  if redis.call('HSETNX', key, f, s) == 1 then
    local lh = st(b, kind)
    lh[3] = lh[3] + 1
    dirty[b] = true
    if lh[3] > %LOAD% * (2 ^ lh[1] + lh[2]) then split(b, kind) end
    return
  end
  local list = redis.call('HGET', key, f)
  local _, n = string.gsub(list, ',', ',')
  if n + 1 >= cap then
    if keep_first then return end
    list = string.gsub(list, '^%d+,', '')
  end
  redis.call('HSET', key, f, list .. ',' .. s)
end
for k, it in ipairs(req.items) do
  local b0, s0 = indexed(it.id)
  if b0 then out[#out + 1] = existing(b0, s0); break end
  -- an article indexed by someone else since the query (seq in seen..base) sharing a band or
  -- a posted term: in the current bucket or, past its end, the next one
  local conflict = false
  if base > seen then
    for _, b in ipairs({cur, cur + 1}) do
      for pass = 1, 2 do
        local kind, fields = 'l', it.bands
        if pass == 2 then kind, fields = 't', it.posted end
        for _, f in ipairs(fields) do
          for _, list in ipairs(lookup(b, kind, tostring(f))) do
            for s in string.gmatch(list, '%d+') do
              local v = tonumber(s)
              if v > seen and v <= base then conflict = true end
            end
          end
        end
      end
    end
  end
  if conflict then out[#out + 1] = {'retry'}; break end
  local s = tostring(redis.call('INCR', P .. ':seq'))
  put(cur, 'i', it.id, s, 2, true)
  redis.call('HSET', P .. ':' .. cur .. ':docs', s, s .. '|' .. ARGV[1 + k])
  for _, f in ipairs(it.bands) do put(cur, 'l', string.format('%d', f), s, %LSH_CAP%, true) end
  for _, f in ipairs(it.posted) do put(cur, 't', tostring(f), s, %POST_CAP%, false) end
  for first = 1, #it.offsets, 500 do  -- in chunks, as in the query
    local ops = {'OVERFLOW', 'SAT'}
    for j = first, math.min(#it.offsets, first + 499) do
      ops[#ops + 1] = 'INCRBY'; ops[#ops + 1] = 'u16'
      ops[#ops + 1] = '#' .. string.format('%d', it.offsets[j]); ops[#ops + 1] = 1
    end
    redis.call('BITFIELD', P .. ':' .. cur .. ':df', unpack(ops))
  end
  counts[cur] = redis.call('INCR', P .. ':' .. cur .. ':n')
  for _, name in ipairs({'docs', 'df', 'n'}) do touched[P .. ':' .. cur .. ':' .. name] = true end
  local skey = P .. ':story:' .. it.story
  if redis.call('EXISTS', skey) == 0 then
    redis.call('HSET', skey, 'first_id', it.aid, 'first_source', it.source,
               'first_seen', it.first_seen, 'first_title', it.title, 'size', 0)
  end
  redis.call('HINCRBY', skey, 'size', 1)
  redis.call('HSET', skey, 'last_seen', req.now)
  redis.call('ZADD', skey .. ':members', now + (k - 1) * 1e-6, it.aid)  -- a batch in order
  redis.call('ZREMRANGEBYSCORE', skey .. ':members', '-inf', now - tonumber(req.window))
  redis.call('EXPIRE', skey, req.ttl)
  redis.call('EXPIRE', skey .. ':members', req.ttl)
  redis.call('ZADD', P .. ':stories', now, it.story)
  out[#out + 1] = {'ok', s, story_fields(it.story)}
end
for b in pairs(dirty) do
  local lh = P .. ':' .. b .. ':lh'
  for kind, v in pairs(state[b]) do
    redis.call('HSET', lh, kind .. 'L', v[1], kind .. 's', v[2], kind .. 'f', v[3])
  end
  touched[lh] = true
end
for key in pairs(touched) do redis.call('EXPIREAT', key, req.expire) end
redis.call('ZREMRANGEBYSCORE', P .. ':stories', '-inf', now - tonumber(req.window))
return out
"""
)


def _script(text: str) -> str:
    for name, value in {
        "%LOAD%": LOAD,
        "%SLOTS%": DF_SLOTS,
        "%LSH_CAP%": LSH_CAP,
        "%POST_CAP%": POST_CAP,
    }.items():
        text = text.replace(name, str(value))
    return text


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


_WEIGHT = np.dtype([("hash", "<u4"), ("weight", "u1")])


def _weights(body: bytes, pos: int, n: int) -> dict[int, float]:
    """``n`` packed (hash, 8-bit weight) pairs at ``pos``, weights back in 0..1."""
    pairs = np.frombuffer(body, dtype=_WEIGHT, count=n, offset=pos)
    return dict(zip(pairs["hash"].tolist(), (pairs["weight"] / 255).tolist()))


def id_hash(article_id: str) -> str:
    """An article id as the index's ``i`` field: 64 bits of its BLAKE2b, hex."""
    return hashlib.blake2b(article_id.encode(), digest_size=8).hexdigest()


def story_id(first_id: str) -> str:
    """A story's id: derived from its first article's id (12 hex digits)."""
    return hashlib.blake2b(first_id.encode(), digest_size=6).hexdigest()


def iso(seconds: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        + f".{int(seconds % 1 * 1000):03d}+00:00"
    )


@dataclass(frozen=True)
class Ask:
    """One article of a batch to query: its id, LSH band keys, terms (hash → tf), entities to
    post under (hashes)."""

    article_id: str
    bands: Sequence[int]
    terms: dict[int, int]
    entities: Sequence[int] = ()


@dataclass(frozen=True)
class Found:
    """What the index holds for one article: itself (``existing``, with its story as it stands
    now), or the document frequencies of its terms, the terms it is posted under and its
    candidates."""

    existing: Entry | None = None
    story: Story | None = None
    df: dict[int, int] = field(default_factory=dict)
    articles: int = 0  # articles the window counted, for idf
    posted: list[str] = field(default_factory=list)
    candidates: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Query:
    seq: int
    found: list[Found]


@dataclass(frozen=True)
class Put:
    """One decided article to index: ``story`` is the story it joins (or founds)."""

    article_id: str
    story: str
    source: str | None
    title: str | None
    entry: bytes
    bands: Sequence[int]
    posted: Sequence[str]
    terms: Sequence[int]


@dataclass(frozen=True)
class Committed:
    status: str  # "ok", "existing" or "retry"
    entry: Entry | None = None
    story: Story | None = None


def _story(sid: str, fields: Sequence[bytes | None]) -> Story | None:
    first_id, first_source, first_seen, size = (v.decode() if v else None for v in fields)
    if first_id is None:
        return None
    return Story(sid, first_id, first_source or None, first_seen or "", int(size or 0))


def _existing(row: list) -> tuple[Entry, Story]:
    entry = unpack(row[1])
    story = _story(entry.story, row[2]) or Story(entry.story, entry.id, entry.source, "", 1)
    return entry, story


class StoryIndex:
    """The Redis side of grouping: reads candidates, commits decisions, lists stories."""

    def __init__(self, client: redis.Redis, prefix: str, window: float) -> None:
        self.redis = client
        self.prefix = prefix  # e.g. "nw:grp"
        self.window = float(window)
        self.bucket_seconds = self.window / BUCKETS_PER_WINDOW
        self._query = client.register_script(_script(_QUERY))
        self._commit = client.register_script(_script(_COMMIT))

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

    def story_key(self, sid: str) -> str:
        return self.key("story", sid)

    # -- document frequencies -----------------------------------------------------------
    def observe(self, term_sets: Sequence[Sequence[int]], now: float) -> None:
        """Count articles' terms into the document frequencies without indexing them (to start
        an evaluation from a window that has seen a day's news, as the tf-idf baseline does)."""
        b = self.bucket(now)
        expire = int((b + 1) * self.bucket_seconds + self.window)
        with self.redis.pipeline(transaction=False) as pipe:
            for terms in term_sets:
                ops: list[object] = ["OVERFLOW", "SAT"]
                for t in set(terms):
                    ops += ["INCRBY", "u16", f"#{t % DF_SLOTS}", 1]
                pipe.execute_command("BITFIELD", self.key(b, "df"), *ops)
                pipe.incr(self.key(b, "n"))
            pipe.expireat(self.key(b, "df"), expire).expireat(self.key(b, "n"), expire)
            pipe.execute()

    # -- insert and query ---------------------------------------------------------------
    def query(self, asks: Sequence[Ask], now: float) -> Query:
        """One round trip for a batch: each article's :class:`Found`."""
        req = {
            "p": self.prefix,
            "live": self.live_buckets(now),
            "maxc": MAX_CANDIDATES,
            "posted": POSTED,
            "items": [
                {
                    "id": id_hash(a.article_id),
                    "bands": list(a.bands),
                    "terms": [[t, c] for t, c in a.terms.items()],
                    "ents": list(a.entities),
                }
                for a in asks
            ],
        }
        seq, *rows = self._query(args=[json.dumps(req)])
        found = []
        for ask, row in zip(asks, rows):
            if row[0] == b"existing":
                entry, story = _existing(row)
                found.append(Found(existing=entry, story=story))
                continue
            dfs = json.loads(row[2]) or []
            found.append(
                Found(
                    df=dict(zip(ask.terms, map(int, dfs))),
                    articles=int(row[1]),
                    posted=list(json.loads(row[3]) or []),
                    candidates=[unpack(d) for d in row[4:]],
                )
            )
        return Query(int(seq), found)

    def commit_args(self, puts: Sequence[Put], seen_seq: int, now: float) -> list[object]:
        """The commit script's arguments (see :meth:`commit`)."""
        b = self.bucket(now)
        req = {
            "p": self.prefix,
            "live": self.live_buckets(now),
            "seen": seen_seq,
            "now": repr(now),
            "expire": int((b + 1) * self.bucket_seconds + self.window),
            "ttl": int(self.window + self.bucket_seconds) + 1,
            "window": repr(self.window),
            "items": [
                {
                    "id": id_hash(p.article_id),
                    "aid": p.article_id,
                    "story": p.story,
                    "source": p.source or "",
                    "title": (p.title or "")[:300],
                    "first_seen": iso(now),
                    "bands": list(p.bands),
                    "posted": list(p.posted),
                    "offsets": sorted({t % DF_SLOTS for t in p.terms}),
                }
                for p in puts
            ],
        }
        return [json.dumps(req), *(p.entry for p in puts)]

    def commit(self, puts: Sequence[Put], seen_seq: int, now: float) -> list[Committed]:
        """Index the batch in order, each joining (or founding) its ``story``; one round trip.
        The result is shorter than ``puts`` when the script stopped: its last item is then
        ``retry`` (an article indexed since ``seen_seq`` shares a band or posted term with it:
        query again) or ``existing`` (it is indexed already: its first grouping)."""
        out = []
        for put, row in zip(puts, self._commit(args=self.commit_args(puts, seen_seq, now))):
            status = row[0].decode()
            if status == "retry":
                out.append(Committed("retry"))
            elif status == "existing":
                entry, story = _existing(row)
                out.append(Committed("existing", entry, story))
            else:
                story = _story(put.story, row[2]) or Story(put.story, put.article_id, None, "", 1)
                out.append(Committed("ok", None, story))
        return out

    # -- reading stories ----------------------------------------------------------------
    def story(self, sid: str) -> Story | None:
        fields = self.redis.hmget(
            self.story_key(sid), "first_id", "first_source", "first_seen", "size"
        )
        return _story(sid, fields)

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
        for row in self.query([Ask(article_id, (), {})], now).found:
            return row.existing
        return None
