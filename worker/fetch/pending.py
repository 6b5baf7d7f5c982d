"""Fetches queued and not finished, so that none is lost with its message.

kombu's Redis transport pops a message before it records it as unacknowledged: a fetch worker
killed in that instant takes the message with it, and ``watch`` (which remembers what it
queued) would never queue that URL again. So every fetch is noted before it is sent:

  - ``nw:fetching``   sorted set, member the fetch's task id and arguments (JSON), scored by
                      when it was queued (a retry: when it is due; a sweep: when sent again).

The fetch task removes its member when it ends (fetched, duplicate or dead-lettered). A fetch
that made no progress for a whole visibility timeout while the fetch queue stood empty has no
message left anywhere (a restorable one would be back in the queue), so the sweeper sends it
again under the same task id: the URL's claim (:mod:`worker.fetch.state`) is that task's, so
the fetch goes on, and a fetch that did finish meanwhile ends as a duplicate. The sweeper moves
task ids and URLs, never pages.
"""

from __future__ import annotations

import json
import time
import uuid

import redis
import structlog
from celery import Celery

from config import Settings
from worker.delivery.sweeper import queue_is_empty
from worker.fetch.state import fetch_key

log = structlog.get_logger("worker.fetch.pending")

FETCH_TASK = "newsworker.fetch"


def member(task_id: str, url: str, force: bool, published_at: str | None) -> str:
    """The pending entry of one fetch (what its task rebuilds from its own id and arguments)."""
    return json.dumps([task_id, url, force, published_at], ensure_ascii=False)


class Pending:
    """The fetches of one namespace; ``app`` sends them (by task name: the fetch task's module
    is not imported)."""

    def __init__(self, settings: Settings, client: redis.Redis, app: Celery) -> None:
        self.settings, self.redis, self.app = settings, client, app
        self.key = fetch_key(settings, "fetching")

    def send(self, url: str, *, force: bool = False, published_at: str | None = None) -> str:
        """Note a fetch, then send it to the fetch workers; its task id."""
        task_id = str(uuid.uuid4())
        self.redis.zadd(self.key, {member(task_id, url, force, published_at): time.time()})
        self._publish(task_id, url, force, published_at)
        return task_id

    def _publish(self, task_id: str, url: str, force: bool, published_at: str | None) -> None:
        self.app.send_task(
            FETCH_TASK,
            args=[url],
            kwargs={"force": force, "published_at": published_at},
            queue=self.settings.fetch_queue,
            task_id=task_id,
        )

    def due(self, entry: str, at: float) -> None:
        """This fetch is sent again, to run at ``at`` (a retry, a sweep)."""
        self.redis.zadd(self.key, {entry: at}, xx=True)

    def done(self, entry: str) -> None:
        self.redis.zrem(self.key, entry)

    def sweep(self, broker: redis.Redis, limit: int = 1000) -> int:
        """Send again the fetches stalled for a visibility timeout, if the fetch queue is
        empty; how many."""
        if not queue_is_empty(broker, self.settings.fetch_queue):
            return 0
        idle = time.time() - self.settings.visibility_timeout
        stalled = self.redis.zrangebyscore(self.key, "-inf", idle, start=0, num=limit)
        for raw in stalled:
            entry = raw.decode()
            task_id, url, force, published_at = json.loads(entry)
            self.due(entry, time.time())
            self._publish(task_id, url, force, published_at)
        if stalled:
            log.warning("stalled_fetches_requeued", count=len(stalled))
        return len(stalled)
