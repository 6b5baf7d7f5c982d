"""``newsworker watch``: poll the sources of a file, queue every new article for the fetch
workers.

Each round: re-read the sources file if it changed; poll each source that is due (a few at
a time) with a conditional GET; list what it links to (feed items, sitemap pages, a sitemap
index's sitemaps, polled in the same round); queue a fetch for each item whose canonical URL
was not queued before (remembered in Redis, so a restarted watch queues nothing twice, and
two URLs of one article are one). A failing source is polled again after an exponentially
growing wait (or the server's Retry-After); a source that fails for good, or
``NEWSWORKER_FETCH_RETRIES`` times in a row, is dead-lettered (stage ``watch``) with the reason.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import structlog

from config import Settings
from worker.delivery.ledger import Ledger
from worker.fetch.client import Client, FetchError
from worker.fetch.dead import dead_letter
from worker.fetch.feeds import Item, NotAFeed, classify, parse_feed
from worker.fetch.sitemaps import parse_sitemap
from worker.fetch.sources import Source, SourcesFile
from worker.fetch.state import WatchState
from worker.fetch.urls import canonical_url, url_key

log = structlog.get_logger("worker.watch")

Enqueue = Callable[[Item], None]
MAX_DEPTH = 3  # sitemap index → sitemap index → sitemap


@dataclass
class Watcher:
    settings: Settings
    sources: SourcesFile
    client: Client
    state: WatchState
    ledger: Ledger
    enqueue: Enqueue
    parallel: int = 4

    def __post_init__(self) -> None:
        self._queueing = threading.Lock()  # sources polled together may list one article

    def due(self, now: float) -> list[Source]:
        out = []
        for source in self.sources.sources:
            next_at = self.state.source(source.url).get("next_at")
            if next_at is None or float(next_at) <= now:
                out.append(source)
        return out

    def round(self, *, all_sources: bool = False) -> Counter[str]:
        """Poll the due sources (all of them with ``all_sources``); count what happened."""
        try:
            if self.sources.refresh():
                log.info("sources_loaded", path=str(self.sources.path), n=len(self.sources.sources))
        except FileNotFoundError:
            log.warning("sources_missing", path=str(self.sources.path))
        if self.sources.error:
            log.warning("sources_invalid", error=self.sources.error)
        todo = self.sources.sources if all_sources else self.due(time.time())
        counts: Counter[str] = Counter()
        with ThreadPoolExecutor(self.parallel) as pool:
            for result in pool.map(self.poll, todo):
                counts.update(result)
        return counts

    def poll(self, source: Source, depth: int = 0) -> Counter[str]:
        counts: Counter[str] = Counter()
        every = source.interval or self.settings.watch_interval
        if source.kind == "page":
            counts["queued"] += self._queue([Item(source.url)])
            self.state.polled(source.url, etag=None, last_modified=None, every=every)
            return counts
        with structlog.contextvars.bound_contextvars(source=source.url):
            counts["polled"] += 1
            known = self.state.source(source.url)
            try:
                got = self.client.get(
                    source.url, etag=known.get("etag"), last_modified=known.get("last_modified")
                )
                if got.not_modified:
                    counts["not_modified"] += 1
                    self.state.polled(source.url, etag=None, last_modified=None, every=every)
                    # An unchanged sitemap index: its sitemaps may have changed all the same.
                    for child in json.loads(known.get("children", "[]")):
                        counts.update(self.poll(Source(child, "sitemap", every), depth + 1))
                    return counts
                kind = classify(got.body, got.content_type)
                if source.kind == "feed" or (source.kind == "auto" and kind == "feed"):
                    items = parse_feed(got.body, got.url)
                elif source.kind == "sitemap" or kind == "sitemap":
                    sitemap = parse_sitemap(got.body, self.settings.fetch_max_bytes)
                    items = sitemap.pages
                    children = sitemap.children[:1000] if depth < MAX_DEPTH else []
                    self.state.remember_children(source.url, children)
                    for child in children:
                        counts.update(self.poll(Source(child, "sitemap", every), depth + 1))
                elif kind == "page":
                    items = [Item(got.url)]
                else:
                    raise NotAFeed("neither a feed, a sitemap nor an HTML page")
            except (FetchError, NotAFeed) as exc:
                counts["failed"] += 1
                self._failed(source, exc, every)
                return counts
            counts["items"] += len(items)
            queued = self._queue(items)
            # Remembered after the items are queued: a watch killed in between polls it again.
            self.state.polled(
                source.url,
                etag=got.headers.get("etag"),
                last_modified=got.headers.get("last-modified"),
                every=every,
            )
            counts["queued"] += queued
            counts["unchanged"] += len(items) - queued
            log.info("polled", items=len(items), queued=queued)
            return counts

    def _queue(self, items: list[Item]) -> int:
        """Queue the items not queued before; return how many."""
        by_key: dict[str, Item] = {}
        for item in items:
            by_key.setdefault(url_key(canonical_url(item.url)), item)
        with self._queueing:
            fresh = self.state.unseen(list(by_key))
            for key in fresh:  # queued, then remembered: a crash between repeats, never loses
                self.enqueue(by_key[key])
            self.state.mark_seen(fresh)
        return len(fresh)

    def _failed(self, source: Source, exc: FetchError | NotAFeed, every: float) -> None:
        reason = exc.reason if isinstance(exc, FetchError) else str(exc)
        transient = isinstance(exc, FetchError) and exc.transient
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        wait = self.state.failed(source.url, every=every, retry_after=retry_after)
        failures = int(self.state.source(source.url).get("failures", 1))
        log.warning("poll_failed", reason=reason, transient=transient, retry_in=wait)
        if not transient or failures > self.settings.fetch_retries:
            dead_letter(self.ledger, source.url, reason, stage="watch")

    def run(self, stop: threading.Event, say: Callable[[Counter[str]], None], tick: float = 1.0):
        """Rounds until ``stop`` is set; ``say`` gets each round's counts (if it did anything)."""
        while not stop.is_set():
            try:
                counts = self.round()
            except Exception as exc:  # Redis or the broker away: try again, do not stop
                log.warning("round_failed", error=f"{type(exc).__name__}: {exc}")
                stop.wait(max(tick, 5))
                continue
            if counts:
                say(counts)
            stop.wait(tick)
