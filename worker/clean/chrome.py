"""Per-source chrome: lines that recur across a source's recent articles are its chrome.

A news site sends many articles, and each page repeats the site's menus, section markers,
widgets, teasers of the day's other stories and footers. :class:`SourceChrome` counts, per
source (domain), in how many of its recent articles each line occurs; a line seen in at least
``min_count`` of them is chrome, and :func:`worker.clean.clean_page` drops it.

Lines are compared by :func:`line_hash`: a short digest of the line with its case, punctuation
and digits normalised (``"Просмотров: 527"`` and ``"Просмотров: 12"`` are the same line).

Memory stays bounded and old knowledge fades: every ``window`` articles of a source, or as soon
as its table holds more than ``max_lines`` lines, all its counts are halved and the lines left
at zero forgotten (an article's own lines, seen once, go at the first halving; a line of every
page stays above ``min_count``). The Redis keys also expire ``ttl`` seconds after the source's
last article.

An article that mostly repeats lines already counted (the same story sent again, or a new
version of it) teaches nothing: counting it would turn its own paragraphs into "chrome".

The counting logic lives here once; where the counts are kept is a small backend:
:class:`RedisCounts` for the workers (shared by all processes), :class:`MemoryCounts` for the
evaluation's replay of a data set.

Keys (the prefix given to :class:`RedisCounts`, e.g. ``settings.key("chrome")``, is
``nw:chrome``): ``nw:chrome:{domain}`` sorted set of line hashes scored by their count,
``nw:chrome:{domain}:articles`` the number of articles counted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis

from worker.text import fold

_DIGITS = re.compile(r"\d+")
WORD = re.compile(r"\w+")
_LETTER = re.compile(r"[^\W\d_]")


def normalize_line(line: str) -> str:
    """The line's words, casefolded, ё as е, every number as 0: "" when it has no letters."""
    words = WORD.findall(_DIGITS.sub("0", fold(line)))
    return " ".join(words) if _LETTER.search(line) else ""


def line_hash(line: str) -> str | None:
    """A 16-hex-digit digest of the normalised line; None for a line without letters."""
    normal = normalize_line(line)
    if not normal:
        return None
    return hashlib.blake2b(normal.encode(), digest_size=8).hexdigest()


def line_hashes(lines: Iterable[str]) -> set[str]:
    """The distinct hashes of ``lines`` (lines without letters have none)."""
    return {h for h in map(line_hash, lines) if h}


def source_domain(source: str | None, url: str | None = None) -> str | None:
    """The key of an article's source: ``source`` as given, else the URL's host, lowercased
    and without a leading ``www.``; None when neither is known."""
    name = (source or "").strip() or _host(url)
    return name.lower().removeprefix("www.") or None


def _host(url: str | None) -> str:
    try:
        return urlsplit(url or "").hostname or ""
    except ValueError:  # e.g. a broken IPv6 address
        return ""


class Counts(Protocol):
    """Where the per-source line counts are kept."""

    def counts(self, domain: str, hashes: list[str]) -> list[int]:
        """The counts of ``hashes`` (0 for a line never counted)."""

    def add(self, domain: str, hashes: list[str]) -> tuple[int, int]:
        """Count one more article with these lines; return the number of articles counted for
        the domain and the number of lines its table holds."""

    def halve(self, domain: str) -> None:
        """Halve every count of the domain (rounding down) and forget the lines left at 0."""

    def at_least(self, domain: str, count: int) -> set[str]:
        """The hashes of the domain counted at least ``count`` times."""


class MemoryCounts:
    """Counts in a dict: for one process (the evaluation's replay, tests)."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, int]] = {}
        self._articles: dict[str, int] = {}

    def counts(self, domain: str, hashes: list[str]) -> list[int]:
        table = self._tables.get(domain, {})
        return [table.get(h, 0) for h in hashes]

    def add(self, domain: str, hashes: list[str]) -> tuple[int, int]:
        table = self._tables.setdefault(domain, {})
        for h in hashes:
            table[h] = table.get(h, 0) + 1
        self._articles[domain] = self._articles.get(domain, 0) + 1
        return self._articles[domain], len(table)

    def halve(self, domain: str) -> None:
        table = self._tables.get(domain, {})
        self._tables[domain] = {h: c // 2 for h, c in table.items() if c >= 2}

    def at_least(self, domain: str, count: int) -> set[str]:
        return {h for h, c in self._tables.get(domain, {}).items() if c >= count}


# KEYS: table (sorted set of line hashes scored by their count), articles. ARGV: ttl, hashes…
_ADD = """
for i = 2, #ARGV do redis.call('ZINCRBY', KEYS[1], 1, ARGV[i]) end
local articles = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {articles, redis.call('ZCARD', KEYS[1])}
"""

# KEYS: table.
_HALVE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(2')
local t = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #t, 2 do
  redis.call('ZADD', KEYS[1], math.floor(tonumber(t[i + 1]) / 2), t[i])
end
return #t / 2
"""


class RedisCounts:
    """Counts in Redis, shared by all the workers' processes: per domain, a sorted set of line
    hashes scored by their count (so the known lines are one range query away) and the number of
    articles counted. Each change is one atomic script."""

    def __init__(self, client: redis.Redis, prefix: str, ttl: int = 7 * 24 * 3600) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl = ttl
        self._add = client.register_script(_ADD)
        self._halve = client.register_script(_HALVE)

    def key(self, domain: str) -> str:
        return f"{self.prefix}:{domain}"

    def counts(self, domain: str, hashes: list[str]) -> list[int]:
        with self.redis.pipeline(transaction=False) as pipe:
            for h in hashes:
                pipe.zscore(self.key(domain), h)
            return [int(c or 0) for c in pipe.execute()]

    def add(self, domain: str, hashes: list[str]) -> tuple[int, int]:
        key = self.key(domain)
        articles, size = self._add(keys=[key, f"{key}:articles"], args=[self.ttl, *hashes])
        return int(articles), int(size)

    def halve(self, domain: str) -> None:
        self._halve(keys=[self.key(domain)])

    def at_least(self, domain: str, count: int) -> set[str]:
        return {h.decode() for h in self.redis.zrangebyscore(self.key(domain), count, "+inf")}


class SourceChrome:
    """Learns, per source, which lines are its chrome (see the module's docstring)."""

    def __init__(
        self,
        counts: Counts,
        *,
        min_count: int = 2,
        window: int = 32,
        max_lines: int = 1500,
        repeat_share: float = 0.5,
    ) -> None:
        if min_count < 1 or window < 2 * min_count:
            raise ValueError("need min_count >= 1 and window >= 2 * min_count")
        self.counts = counts
        self.min_count = min_count
        self.window = window
        self.max_lines = max_lines
        self.repeat_share = repeat_share

    @classmethod
    def in_redis(
        cls, client: redis.Redis, prefix: str, *, ttl: int = 7 * 24 * 3600, **options: Any
    ) -> SourceChrome:
        """Counts kept in Redis under ``prefix`` (e.g. ``settings.key("chrome")``)."""
        return cls(RedisCounts(client, prefix, ttl), **options)

    @classmethod
    def in_memory(cls, **options: Any) -> SourceChrome:
        """Counts kept in this process."""
        return cls(MemoryCounts(), **options)

    def known(self, domain: str) -> set[str]:
        """Hashes of the lines seen in at least ``min_count`` of the domain's recent articles:
        what :func:`worker.clean.clean` takes as ``chrome``."""
        return self.counts.at_least(domain, self.min_count)

    def learn(self, domain: str, lines: Iterable[str], body: Iterable[str] = ()) -> bool:
        """Count the distinct ``lines`` of one article of ``domain`` (all its page's lines).

        ``body`` is the article's text as cleaned: when more than ``repeat_share`` of its lines
        were already counted, the article repeats a recent one and nothing is learned (False).
        """
        if self._repeats(domain, sorted(line_hashes(body))):
            return False
        articles, size = self.counts.add(domain, sorted(line_hashes(lines)))
        if articles % self.window == 0 or size > self.max_lines:
            self.counts.halve(domain)
        return True

    def _repeats(self, domain: str, body: list[str]) -> bool:
        counted = sum(c > 0 for c in self.counts.counts(domain, body)) if body else 0
        return counted > self.repeat_share * len(body)
