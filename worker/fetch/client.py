"""The polite HTTP client every request of ``watch`` and the fetch workers goes through.

httpx underneath (gzip, deflate and brotli decoded). Per request: a deadline for the whole
response (``NEWSWORKER_FETCH_TIMEOUT``, first byte to last, so a response that trickles on
forever is cut), redirects followed one hop at a time (each hop is checked against robots.txt
and rate-limited) up to ``NEWSWORKER_FETCH_MAX_REDIRECTS``, the body streamed and dropped as
soon as it passes ``NEWSWORKER_FETCH_MAX_BYTES`` after decompression (a gzip bomb stops at the
limit, not at the bomb's size), conditional GET (ETag / Last-Modified → 304), the
User-Agent from settings, and the per-host limits of :mod:`worker.fetch.ratelimit`.

Every failure is a :class:`FetchError` with a reason a person can read ("HTTP 404",
"timeout after 20 s", "body over 5 MB", "robots.txt disallows") and whether trying again
later may help (``transient``, with the server's ``Retry-After`` if it sent one).
"""

from __future__ import annotations

import email.utils
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import brotli
import httpx
import redis

from config import Settings
from worker.fetch.ratelimit import HostLimiter
from worker.fetch.robots import Robots, RobotsUnavailable
from worker.fetch.state import fetch_key
from worker.fetch.urls import host_of

REDIRECTS = frozenset({301, 302, 303, 307, 308})
TRANSIENT = frozenset({408, 425, 429, 500, 502, 503, 504})


class FetchError(Exception):
    def __init__(
        self,
        reason: str,
        url: str,
        *,
        transient: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason, self.url, self.transient = reason, url, transient
        self.retry_after, self.status = retry_after, status


@dataclass
class Fetched:
    url: str  # after redirects
    status: int  # 200, or 304 for a conditional GET that found nothing new
    headers: httpx.Headers = field(default_factory=httpx.Headers)
    body: bytes = b""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip("\"' ")
        return None


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n} bytes"


def retry_after(value: str | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Inflater:
    """Decompresses a gzip, deflate or brotli body a chunk at a time, never producing more
    than it is asked for: a bomb costs the body limit in memory, not its size."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.zlib: Any = None
        self.brotli: Any = brotli.Decompressor() if encoding == "br" else None
        if encoding in ("gzip", "x-gzip"):
            self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    @classmethod
    def for_encoding(cls, encoding: str) -> Inflater | None:
        return cls(encoding) if encoding in ("gzip", "x-gzip", "deflate", "br") else None

    def feed(self, data: bytes, room: int) -> bytes:
        """The next output for ``data``: at most ``room + 1`` bytes (more than ``room``
        means the body is over the limit)."""
        limit = max(room, 0) + 1
        if self.brotli is not None:
            return self.brotli.process(data, output_buffer_limit=limit)
        if self.zlib is None:  # deflate: with a zlib header, or (as some servers send) raw
            zlib_header = (
                len(data) >= 2 and data[0] & 0x0F == 8 and int.from_bytes(data[:2]) % 31 == 0
            )
            self.zlib = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        return self.zlib.decompress(data, limit)


class Client:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.timeout = settings.fetch_timeout
        self.max_bytes = settings.fetch_max_bytes
        self.http = httpx.Client(
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            follow_redirects=False,
            headers={"User-Agent": settings.user_agent},
            trust_env=False,
        )
        self.limiter = HostLimiter(
            client,
            fetch_key(settings, "host"),
            concurrency=settings.host_concurrency,
            rate=settings.host_rate,
            lease=self.timeout + 30,
        )
        self.robots = (
            Robots(
                client,
                fetch_key(settings, "robots"),
                settings.user_agent,
                settings.robots_ttl,
                self._robots_txt,
            )
            if settings.robots_txt
            else None
        )

    def close(self) -> None:
        self.http.close()

    def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Fetched:
        """GET ``url`` politely, following redirects; raise :class:`FetchError`."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return self._follow(url, headers, check_robots=True, max_bytes=self.max_bytes)

    def _robots_txt(self, url: str) -> tuple[int, bytes]:
        try:
            got = self._follow(url, {}, check_robots=False, max_bytes=500_000)
        except FetchError as exc:
            if exc.status is not None:
                return exc.status, b""
            raise
        return got.status, got.body

    def _follow(
        self, url: str, headers: dict[str, str], *, check_robots: bool, max_bytes: int
    ) -> Fetched:
        seen = [url]
        for _ in range(self.settings.fetch_max_redirects + 1):
            if urlsplit(url).scheme not in ("http", "https"):
                raise FetchError(f"not an http(s) URL: {url}", url)
            if check_robots and self.robots is not None:
                try:
                    allowed = self.robots.allowed(url)
                except RobotsUnavailable as exc:
                    raise FetchError(str(exc), url, transient=True) from None
                if not allowed:
                    raise FetchError("robots.txt disallows", url)
            with self.limiter.slot(host_of(url)):
                got = self._once(url, headers, max_bytes)
            if isinstance(got, Fetched):
                return got
            url = got
            if url in seen:
                raise FetchError(f"redirect loop ({' -> '.join([*seen, url])})", seen[0])
            seen.append(url)
        raise FetchError(
            f"more than {self.settings.fetch_max_redirects} redirects (last: {url})", seen[0]
        )

    def _once(self, url: str, headers: dict[str, str], max_bytes: int) -> Fetched | str:
        """One request: the response, or the URL it redirects to."""
        started = time.monotonic()
        timed_out = f"timeout after {self.timeout:g} s"
        try:
            with self.http.stream("GET", url, headers=headers) as resp:
                status = resp.status_code
                if status in REDIRECTS and resp.headers.get("location"):
                    return urljoin(url, resp.headers["location"])
                if status == 304:
                    return Fetched(str(resp.url), 304, resp.headers)
                if status >= 400 or status < 200:
                    wait = retry_after(resp.headers.get("retry-after"))
                    raise FetchError(
                        f"HTTP {status}",
                        url,
                        transient=status in TRANSIENT,
                        retry_after=wait,
                        status=status,
                    )
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise FetchError(f"body over {_megabytes(max_bytes)}", url)
                chunks, size = [], 0
                encoding = resp.headers.get("content-encoding", "").strip().lower()
                inflate = Inflater.for_encoding(encoding)
                raw = inflate is not None or encoding in ("", "identity")
                for data in resp.iter_raw() if raw else resp.iter_bytes():
                    chunk = inflate.feed(data, max_bytes - size) if inflate else data
                    size += len(chunk)
                    if size > max_bytes:
                        raise FetchError(f"body over {_megabytes(max_bytes)}", url)
                    if time.monotonic() - started > self.timeout:
                        raise FetchError(timed_out, url, transient=True)
                    chunks.append(chunk)
                return Fetched(str(resp.url), status, resp.headers, b"".join(chunks))
        except httpx.TimeoutException:
            raise FetchError(timed_out, url, transient=True) from None
        except (httpx.DecodingError, zlib.error, brotli.error) as exc:
            raise FetchError(f"undecodable content encoding: {exc}", url) from None
        except httpx.TransportError as exc:
            raise FetchError(
                f"network error: {exc or type(exc).__name__}", url, transient=True
            ) from None
