"""What a stage task does when things go wrong: the base class of the pipeline's tasks.

- An article the stage cannot handle (:class:`BadArticle`, or any unexpected exception from
  the stage function) is dead-lettered with the stage and the reason; the rest of its batch
  goes on (``StageTask.each``).
- A *poison* message — delivered more than ``NEWSWORKER_MAX_DELIVERIES`` times without
  finishing, because it kills the worker process that runs it (OOM, crash) — and a batch that
  fails as a whole (time limit) are given up: a batch of several is *split*, each article
  starting over in a chain of its own, so only the article at fault ends in the dead letters;
  a batch of one is dead-lettered.
- An unreachable sink makes ``deliver`` retry with exponential backoff and jitter
  (``retry_delay``), and dead-letter the batch's articles when retries run out.
- A Redis error (a restart) is nobody's fault: the task is retried, 1 s doubling to 10 s, for
  up to ``REDIS_RETRIES`` times (its retry's message waits for the broker to answer); after
  that the articles stay in flight and the sweeper sends them again
  (``worker.delivery.sweeper``).

The retry delay is bounded so that an article waiting for its retry has its next task started
before the sweeper would count it stalled (``retry_delay``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
import structlog
from celery import Task
from celery.exceptions import Ignore, Retry, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.utils.time import get_exponential_backoff_interval

from config import Settings
from worker.delivery import chain, runtime
from worker.delivery.ledger import Taken
from worker.delivery.protocol import Ref, refs_of
from worker.errors import BadArticle, SinkUnavailable
from worker.ops import metrics
from worker.ops.metrics import Timer

log = structlog.get_logger("worker.delivery")

REDIS_RETRIES = 30
"""Retries of a task that met a Redis error: about 5 minutes of a Redis away."""


def retry_delay(settings: Settings, retries: int) -> float:
    """Seconds before retry number ``retries + 1`` of a delivery: 2 s doubling, full jitter,
    at most 5 min, and short enough that the retry starts (a failed run of at most the time
    limit, then this wait) before the sweeper would count its articles stalled."""
    maximum = min(300, max(1, int(settings.visibility_timeout - settings.task_time_limit) // 2))
    return get_exponential_backoff_interval(2, retries, maximum, full_jitter=True)


def reason_of(exc: BaseException) -> str:
    if isinstance(exc, BadArticle):
        return str(exc)
    if isinstance(exc, (SoftTimeLimitExceeded, TimeLimitExceeded)):
        return f"stage time limit exceeded ({exc})"
    return f"{type(exc).__name__}: {exc}"


class StageTask(Task):
    """Base of the pipeline's tasks (``stage`` names the stage); see the module's docstring."""

    stage = "unknown"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if not request.id or request.is_eager:
            return super().__call__(*args, **kwargs)
        try:
            refs = refs_of(args[0] if args else None)
            rt = runtime.current()
            # One script call: the delivery counted, the articles touched, their input read.
            taken = rt.ledger.take(self.stage, refs, self.delivery)
            if (n := taken.deliveries) > rt.settings.max_deliveries:
                self.give_up(refs, f"poison message: delivered {n} times without finishing")
                raise Ignore()
            request.taken = taken
            return super().__call__(*args, **kwargs)
        except redis.RedisError as exc:
            log.warning("redis_unavailable", stage=self.stage, error=str(exc), retry=True)
            countdown = min(10, 2**request.retries)
            raise self.retry(exc=exc, countdown=countdown, max_retries=REDIS_RETRIES) from exc

    def taken(self) -> Taken:
        """What this delivery took from the ledger as it started (``Ledger.take``): the
        batch's articles not landed yet and their input."""
        return self.request.taken

    @property
    def delivery(self) -> str:
        """This delivery of the message: its task id and retry."""
        return f"{self.request.id}:{self.request.retries}"

    def each(
        self,
        refs: list[Ref],
        items: list[Any],
        step: Callable[[Ref, Any], Any],
        *,
        measured: bool = True,
    ) -> list:
        """Run the stage's step on each article of the batch; an article whose step fails is
        dead-lettered, the others go on. ``measured=False``: a first pass over the batch, not
        counted as the stage's work in the metrics (the last pass is)."""
        out = []
        for ref, item in zip(refs, items, strict=True):
            with structlog.contextvars.bound_contextvars(article_id=ref.id), Timer() as took:
                try:
                    out.append(step(ref, item))
                except (SoftTimeLimitExceeded, redis.RedisError):
                    raise  # the batch's failure, not the article's
                except Exception as exc:
                    self.dead_letter(ref, reason_of(exc))
                    continue
            if measured and self.stage != "deliver":  # deliver's: the batch's sink writes
                metrics.stage_ok(self.stage, took.seconds)
        return out

    def dead_letter(self, ref: Ref, reason: str) -> None:
        written = runtime.current().ledger.dead_letter(ref, stage=self.stage, reason=reason)
        if written:
            metrics.dead_lettered(self.stage, reason)
        with structlog.contextvars.bound_contextvars(article_id=ref.id):
            log.warning("dead_lettered", stage=self.stage, reason=reason, written=written)

    def give_up(self, refs: list[Ref], reason: str) -> None:
        """The batch failed as a whole: split it, or dead-letter a lone article."""
        if len(refs) == 1:
            self.dead_letter(refs[0], reason)
            return
        rt = runtime.current()
        for ref in refs:
            rt.ledger.touch(ref)
            chain.pipeline_chain(self.app, [ref], rt.settings.queue).apply_async()
        log.warning("batch_split", stage=self.stage, articles=len(refs), reason=reason)

    def retry_later(self, exc: SinkUnavailable) -> Retry:
        """Retry this task after ``retry_delay``; past ``NEWSWORKER_MAX_RETRIES``, ``exc``
        itself is raised (and the batch dead-lettered by ``on_failure``)."""
        settings = runtime.current().settings
        countdown = retry_delay(settings, self.request.retries)
        return self.retry(exc=exc, countdown=countdown, max_retries=settings.max_retries)

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:  # type: ignore[override]
        rt = runtime.current()
        rt.ledger.finished(f"{task_id}:{self.request.retries}", rt.worker_id, task_id)

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[override]
        refs = refs_of(args[0] if args else None)
        if isinstance(exc, redis.RedisError):
            log.warning("redis_unavailable", stage=self.stage, error=str(exc))
        elif isinstance(exc, SinkUnavailable):  # retries ran out: the sink is down for all
            for ref in refs:
                self.dead_letter(ref, reason_of(exc))
        else:
            self.give_up(refs, reason_of(exc))
