"""What ``watch`` and the fetch tasks remember, in Redis (``nw`` is the key prefix):

- ``nw:seen:{url key}``        an item queued for fetching, for ``NEWSWORKER_WATCH_SEEN_TTL``;
  a restarted ``watch`` queues nothing it queued before.
- ``nw:fetched:{url key}`` / ``nw:fetched:id:{id}``  the fetch task that took that URL /
  that article (its task id): a second task for it is a duplicate; the same task, delivered
  again after its worker died, goes on.
- ``nw:source:{url}``          hash: ``etag``, ``last_modified`` (conditional GET),
  ``failures`` (consecutive, for the backoff), ``next_at`` (when to poll again), and for a
  sitemap index ``children`` (its sitemaps, polled again when the index answers 304).
"""

from __future__ import annotations

import json
import time

import redis

from config import Settings

# KEYS[1]: claim. ARGV: holder, ttl. 1 if the claim is (now or already) the holder's.
_CLAIM = """
local held = redis.call('GET', KEYS[1])
if held == false then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if held == ARGV[1] then return 1 end
return 0
"""


def fetch_key(settings: Settings, *parts: str) -> str:
    """A key of the fetching's own (the key map above, and ``nw:host:*`` of
    :mod:`worker.fetch.ratelimit`, ``nw:robots:*`` of :mod:`worker.fetch.robots`)."""
    return ":".join((settings.key_prefix, *parts))


class WatchState:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings, self.redis = settings, client
        self.ttl = settings.watch_seen_ttl
        self._claim = client.register_script(_CLAIM)

    # -- items ---------------------------------------------------------------------------
    def unseen(self, keys: list[str]) -> list[str]:
        """The url keys not queued yet (in order, each once)."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.exists(fetch_key(self.settings, "seen", key))
            found = pipe.execute()
        return [k for k, n in zip(keys, found, strict=True) if not n]

    def mark_seen(self, keys: list[str]) -> None:
        with self.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.set(fetch_key(self.settings, "seen", key), 1, ex=self.ttl)
            pipe.execute()

    def claim(self, what: str, holder: str) -> bool:
        """Take ``what`` (a url key, or ``id:{article id}``) for fetch task ``holder``."""
        key = fetch_key(self.settings, "fetched", what)
        return bool(self._claim(keys=[key], args=[holder, self.ttl]))

    def release(self, what: str, holder: str) -> None:
        """Give ``what`` up (a fetch that ended in a dead letter: ``retry-dead`` may take it)."""
        key = fetch_key(self.settings, "fetched", what)
        if self.redis.get(key) == holder.encode():
            self.redis.delete(key)

    # -- sources -------------------------------------------------------------------------
    def source(self, url: str) -> dict[str, str]:
        raw = self.redis.hgetall(fetch_key(self.settings, "source", url))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def polled(self, url: str, *, etag: str | None, last_modified: str | None, every: float):
        """A successful poll (200 or 304): keep the validators, poll again in ``every`` s."""
        key = fetch_key(self.settings, "source", url)
        fields = {"failures": 0, "next_at": time.time() + every}
        if etag:
            fields["etag"] = etag
        if last_modified:
            fields["last_modified"] = last_modified
        with self.redis.pipeline() as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, self.ttl)
            pipe.execute()

    def remember_children(self, url: str, children: list[str]) -> None:
        """The sitemaps a sitemap index lists, polled again when the index answers 304."""
        key = fetch_key(self.settings, "source", url)
        self.redis.hset(key, "children", json.dumps(children))

    def failed(self, url: str, *, every: float, retry_after: float | None) -> float:
        """A failed poll: back off exponentially (or as the server asked); return the wait."""
        key = fetch_key(self.settings, "source", url)
        failures = int(self.redis.hincrby(key, "failures", 1))
        wait = min(self.settings.watch_max_backoff, every * 2 ** (failures - 1))
        if retry_after is not None:
            wait = min(self.settings.watch_max_backoff, max(wait, retry_after))
        self.redis.hset(key, "next_at", time.time() + wait)
        self.redis.expire(key, self.ttl)
        return wait
