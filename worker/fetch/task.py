"""The fetch task (queue ``NEWSWORKER_FETCH_QUEUE``): fetch one page and submit it exactly as
``newsworker submit`` would (same ids, duplicates, dead letters, ``--force``); its chain goes
on on the pipeline's queue. Run it on a thread pool: its time is network waits.

A fetch that fails ends as a dead letter (stage ``fetch``) with the reason and the URL, after
``NEWSWORKER_FETCH_RETRIES`` retries where trying again may help (timeouts, 429, 5xx; after
``Retry-After`` when the server sends one).
"""

from __future__ import annotations

import functools
import json

import structlog
from celery import Task

from config import Settings, get_settings
from worker import producer
from worker.celery_app import app
from worker.fetch.client import Client, FetchError
from worker.fetch.page import fetch_page
from worker.fetch.state import WatchState
from worker.fetch.urls import url_key
from worker.ingest import id_for_url
from worker.store import ORDINARY, Store, connect

log = structlog.get_logger("worker.fetch")


@functools.cache
def _client() -> Client:
    settings = get_settings()
    return Client(settings, connect(settings))


@functools.cache
def _store() -> Store:
    return Store(get_settings())


@functools.cache
def _state() -> WatchState:
    settings = get_settings()
    return WatchState(settings, connect(settings))


def dead_letter(store: Store, url: str, reason: str, stage: str = "fetch") -> bool:
    """A URL that gave no article: a dead letter whose payload is ``{"url": …}``."""
    article_id = id_for_url(url)
    payload = json.dumps({"url": url}, ensure_ascii=False).encode()
    store.redis.set(store.payload_key(article_id, ORDINARY), payload, ex=store.settings.payload_ttl)
    written = store.dead_letter(
        article_id, ORDINARY, stage=stage, reason=f"{reason} ({url})", kind="json"
    )
    log.warning("dead_lettered", stage=stage, url=url, reason=reason, written=written)
    return written


@app.task(name="newsworker.fetch", bind=True, acks_late=True, ignore_result=True)
def fetch(self: Task, url: str, force: bool = False, published_at: str | None = None) -> str:
    settings = get_settings()
    holder = self.request.id or "local"
    state = _state()
    with structlog.contextvars.bound_contextvars(url=url):
        if not force and not state.claim(url_key(url), holder):
            log.info("fetch_duplicate")
            return "duplicate"
        store = _store()
        try:
            submission = fetch_page(_client(), url, published_at=published_at)
            if not force and not state.claim(f"id:{submission.id}", holder):
                log.info("fetch_duplicate", article_id=submission.id)
                return "duplicate"
            done = producer.submit([submission], settings, force=force, store=store)
        except FetchError as exc:
            retries = self.request.retries
            if exc.transient and retries < settings.fetch_retries:
                wait = exc.retry_after
                if wait is None:
                    wait = settings.fetch_retry_delay * 2**retries
                wait = min(wait, settings.visibility_timeout / 2)  # an ETA under visibility
                log.info("fetch_retry", reason=exc.reason, countdown=wait, retries=retries)
                raise self.retry(countdown=wait, max_retries=settings.fetch_retries) from None
            dead_letter(store, url, exc.reason)
            state.release(url_key(url), holder)
            return "dead"
        except Exception as exc:  # whatever it is, the URL is not lost
            dead_letter(store, url, f"{type(exc).__name__}: {exc}")
            state.release(url_key(url), holder)
            return "dead"
        outcome = "queued" if done.queued else "duplicate"
        log.info("fetched", article_id=submission.id, outcome=outcome)
        return outcome


def enqueue_fetch(
    settings: Settings, url: str, *, force: bool = False, published_at: str | None = None
) -> None:
    """Send one URL to the fetch workers."""
    fetch.apply_async(
        args=[url],
        kwargs={"force": force, "published_at": published_at},
        queue=settings.fetch_queue,
    )
