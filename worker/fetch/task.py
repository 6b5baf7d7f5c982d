"""The fetch task (queue ``NEWSWORKER_FETCH_QUEUE``): fetch one page and submit it exactly as
``newsworker submit`` would (same ids, duplicates, dead letters, ``--force``); its chain goes
on on the pipeline's queue. Run it on a thread pool (``newsworker worker --fetch``): its time
is network waits. Producers send it by name (``worker.fetch.pending.Pending.send``), which
notes it as pending until the task ends, so that a lost message is sent again.

A fetch that fails ends as a dead letter (stage ``fetch``) with the reason and the URL, after
``NEWSWORKER_FETCH_RETRIES`` retries where trying again may help (timeouts, 429, 5xx; after
``Retry-After`` when the server sends one).
"""

from __future__ import annotations

import threading
import time

import structlog
from celery import Task

from config import Settings
from worker import producer
from worker.celery_app import app
from worker.delivery import runtime
from worker.delivery.ledger import Ledger
from worker.fetch.client import Client, FetchError
from worker.fetch.dead import dead_letter
from worker.fetch.page import fetch_page
from worker.fetch.pending import FETCH_TASK, Pending, member
from worker.fetch.state import WatchState
from worker.fetch.urls import url_key

log = structlog.get_logger("worker.fetch")


class _Resources:
    """A fetch worker's client and state, built once per process from its runtime's settings
    (the threads of the pool share them)."""

    _lock = threading.Lock()
    _built: tuple[Settings, Client, WatchState, Pending] | None = None

    @classmethod
    def get(cls, settings: Settings, ledger: Ledger) -> tuple[Client, WatchState, Pending]:
        with cls._lock:
            if cls._built is None or cls._built[0] is not settings:
                cls._built = (
                    settings,
                    Client(settings, ledger.redis),
                    WatchState(settings, ledger.redis),
                    Pending(settings, ledger.redis, app),
                )
            return cls._built[1:]


@app.task(name=FETCH_TASK, bind=True, acks_late=True, ignore_result=True)
def fetch(self: Task, url: str, force: bool = False, published_at: str | None = None) -> str:
    rt = runtime.current()
    settings, ledger = rt.settings, rt.ledger
    client, state, pending = _Resources.get(settings, ledger)
    holder = self.request.id or "local"
    entry = member(holder, url, force, published_at)  # noted as pending by its producer
    with structlog.contextvars.bound_contextvars(url=url):
        try:
            outcome = _fetch(client, state, ledger, settings, url, force, published_at, holder)
        except FetchError as exc:
            retries = self.request.retries
            if exc.transient and retries < settings.fetch_retries:
                wait = exc.retry_after
                if wait is None:
                    wait = settings.fetch_retry_delay * 2**retries
                wait = min(wait, settings.visibility_timeout / 2)  # an ETA under visibility
                log.info("fetch_retry", reason=exc.reason, countdown=wait, retries=retries)
                pending.due(entry, time.time() + wait)
                raise self.retry(countdown=wait, max_retries=settings.fetch_retries) from None
            outcome = _dead(ledger, state, url, holder, exc.reason)
        except Exception as exc:  # whatever it is, the URL is not lost
            outcome = _dead(ledger, state, url, holder, f"{type(exc).__name__}: {exc}")
    pending.done(entry)
    return outcome


def _fetch(
    client: Client,
    state: WatchState,
    ledger: Ledger,
    settings: Settings,
    url: str,
    force: bool,
    published_at: str | None,
    holder: str,
) -> str:
    """Fetch and submit one page: ``queued`` or ``duplicate``."""
    if not force and not state.claim(url_key(url), holder):
        log.info("fetch_duplicate")
        return "duplicate"
    submission = fetch_page(client, url, published_at=published_at)
    if not force and not state.claim(f"id:{submission.id}", holder):
        log.info("fetch_duplicate", article_id=submission.id)
        return "duplicate"
    done = producer.submit([submission], settings, force=force, ledger=ledger)
    outcome = "queued" if done.queued else "duplicate"
    log.info("fetched", article_id=submission.id, outcome=outcome)
    return outcome


def _dead(ledger: Ledger, state: WatchState, url: str, holder: str, reason: str) -> str:
    dead_letter(ledger, url, reason)
    state.release(url_key(url), holder)
    return "dead"
