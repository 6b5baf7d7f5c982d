"""robots.txt, fetched once per origin and kept in Redis for ``NEWSWORKER_ROBOTS_TTL`` seconds
(so every fetch worker shares one copy), parsed with the standard library's parser.

As RFC 9309 says: a robots.txt that is missing (4xx) allows everything; one that cannot be
had (5xx, network error) means "try later" — the fetch fails as transient and is retried.
"""

from __future__ import annotations

import time
import urllib.robotparser
from collections.abc import Callable
from urllib.parse import urlsplit

import redis


class RobotsUnavailable(Exception):
    """The host's robots.txt could not be read now (5xx or unreachable)."""


Getter = Callable[[str], tuple[int, bytes]]
"""Fetches a robots.txt URL: (status, body); raises on network errors."""


class Robots:
    def __init__(self, client: redis.Redis, prefix: str, agent: str, ttl: int, get: Getter):
        self.redis, self.prefix, self.agent, self.ttl, self.get = client, prefix, agent, ttl, get
        self._parsed: dict[str, tuple[float, urllib.robotparser.RobotFileParser]] = {}

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        return self._parser(origin).can_fetch(self.agent, url)

    def _parser(self, origin: str) -> urllib.robotparser.RobotFileParser:
        cached = self._parsed.get(origin)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        key = f"{self.prefix}:{origin}"
        text = self.redis.get(key)
        if text is None:
            try:
                status, body = self.get(f"{origin}/robots.txt")
            except Exception as exc:
                raise RobotsUnavailable(f"robots.txt unreachable: {exc}") from exc
            if status >= 500 or status == 429:
                raise RobotsUnavailable(f"robots.txt answered HTTP {status}")
            text = body if 200 <= status < 300 else b""  # missing: everything allowed
            self.redis.set(key, text, ex=self.ttl)
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(text.decode("utf-8", "replace").splitlines())
        self._parsed[origin] = (time.monotonic() + min(self.ttl, 60), parser)
        return parser
