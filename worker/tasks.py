"""Celery tasks: thin adapters around ``worker.pipeline``, chained clean → entities →
summarize → deliver.

A chain carries a *batch*: up to ``NEWSWORKER_BATCH_SIZE`` articles submitted together travel
in one message per stage, so the queue's cost per message is shared by the batch (a lone
article is a batch of one). A message holds only the articles' ids (what Flower shows): each
stage reads its input from Redis (the payload, or the previous stage's result) and leaves its
result there for the next (``Store.docs``), so the worker's main process never copies article
text between the broker and its pool.

- An article the stage cannot handle (:class:`BadArticle`, or any unexpected exception from
  the stage function) is dead-lettered with the stage and the reason; the rest of its batch
  goes on.
- A batch that fails as a whole (time limit, a message redelivered too many times because it
  kills its worker process) is *split*: each of its articles starts over in a chain of its
  own, so only the article at fault ends in the dead letters — the same failure in a batch of
  one dead-letters it.
- An unreachable sink makes ``deliver`` retry with exponential backoff and jitter, and
  dead-letter the batch's articles when retries run out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis
import structlog
from celery import Task, chain
from celery.exceptions import Ignore, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_postrun, task_prerun

from config import Settings, get_settings
from worker import pipeline
from worker.celery_app import app
from worker.clean.chrome import SourceChrome
from worker.errors import BadArticle, SinkUnavailable
from worker.schema import Article
from worker.sinks import Sink, build_sinks
from worker.store import Ref, Store

log = structlog.get_logger("worker.tasks")


@functools.cache
def _store() -> Store:
    return Store(get_settings())


@functools.cache
def _sinks() -> list[Sink]:
    return build_sinks(get_settings())


@functools.cache
def _chrome() -> SourceChrome | None:
    settings = get_settings()
    if not settings.learn_chrome:
        return None
    return SourceChrome.in_redis(_store().redis, settings.key("chrome"))


def _refs(args: tuple[Any, ...]) -> list[Ref]:
    """(id, kind, token) of each article in a task's batch: its first argument."""
    batch = args[0] if args and isinstance(args[0], list) else []
    return [
        (str(item[0]), str(item[1]), str(item[2]))
        for item in batch
        if isinstance(item, list | tuple) and len(item) == 3
    ]


@task_prerun.connect
def _bind_context(task_id: str, task: Task, args: tuple[Any, ...], **_: object) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task=task.name, article_ids=[ref[0] for ref in _refs(tuple(args))]
    )


@task_postrun.connect
def _unbind_context(**_: object) -> None:
    structlog.contextvars.clear_contextvars()


@contextmanager
def _article(article_id: str) -> Iterator[None]:
    """Log lines inside carry the article's id."""
    with structlog.contextvars.bound_contextvars(article_id=article_id):
        yield


class StageTask(Task):
    """Base of the pipeline's tasks: per-article dead letters, batch splitting, poison counting.

    A *poison* message is one delivered more than ``NEWSWORKER_MAX_DELIVERIES`` times without
    finishing, because it kills the worker process that runs it (OOM, crash).
    """

    stage = "unknown"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.id and not request.is_eager:
            refs = _refs(args)
            n = _store().task_started(f"{request.id}:{request.retries}", refs)
            if n > get_settings().max_deliveries:
                self.give_up(refs, f"poison message: delivered {n} times without finishing")
                raise Ignore()
        return super().__call__(*args, **kwargs)

    def each(
        self, refs: list[Ref], items: list[Any], step: Callable[[Ref, Any], Article]
    ) -> list[Article]:
        """Run the stage's step on each article of the batch; an article whose step fails is
        dead-lettered, the others go on."""
        out = []
        for ref, item in zip(refs, items, strict=True):
            with _article(ref[0]):
                try:
                    out.append(step(ref, item))
                except (SoftTimeLimitExceeded, redis.RedisError):
                    raise  # the batch's failure, not the article's
                except Exception as exc:
                    self.dead_letter(ref, _reason(exc))
        return out

    def dead_letter(self, ref: Ref, reason: str) -> None:
        article_id, kind, token = ref
        store = _store()
        written = store.dead_letter(article_id, token, stage=self.stage, reason=reason, kind=kind)
        with _article(article_id):
            log.warning("dead_lettered", stage=self.stage, reason=reason, written=written)

    def give_up(self, refs: list[Ref], reason: str) -> None:
        """The batch failed as a whole: split it, or dead-letter a lone article."""
        if len(refs) == 1:
            self.dead_letter(refs[0], reason)
            return
        for ref in refs:
            _store().touch(*ref)
            pipeline_chain([ref]).apply_async()  # not enqueue(): one article to a chain
        log.warning("batch_split", stage=self.stage, articles=len(refs), reason=reason)

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:  # type: ignore[override]
        _store().forget_deliveries(f"{task_id}:{self.request.retries}")

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[override]
        refs = _refs(tuple(args))
        if isinstance(exc, redis.RedisError):
            # Not the articles' fault: they stay in flight and the sweeper sends them again.
            log.warning("redis_unavailable", stage=self.stage, error=str(exc))
        elif isinstance(exc, SinkUnavailable):  # retries ran out: the sink is down for all
            for ref in refs:
                self.dead_letter(ref, _reason(exc))
        else:
            self.give_up(refs, _reason(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BadArticle):
        return str(exc)
    if isinstance(exc, (SoftTimeLimitExceeded, TimeLimitExceeded)):
        return f"stage time limit exceeded ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _stage(name: str, **options: Any):
    return app.task(name=f"newsworker.{name}", base=StageTask, bind=True, stage=name, **options)


def _fresh(refs: list[Ref]) -> list[Ref]:
    """The articles not landed yet; a redelivered or duplicate message's others are settled."""
    store = _store()
    fresh = []
    for ref, done in zip(refs, store.landed(refs), strict=True):
        if done:
            with _article(ref[0]):
                log.info("already_landed")
            store.settle(*ref)
        else:
            fresh.append(ref)
    return fresh


def _take(stage: str, batch: list[list[str]]) -> tuple[list[Ref], list[bytes | None]]:
    """The batch's articles not landed yet, as ``stage`` left them in Redis."""
    refs = _fresh(_refs((batch,)))
    return refs, _store().docs(stage, refs)


def _load(stage: str, doc: bytes | None) -> Article:
    if doc is None:
        raise BadArticle(f"the {stage} stage's result is not in Redis (expired?)")
    return Article.model_validate_json(doc)


def _hand_over(stage: str, articles: list[Article]) -> list[list[str]]:
    """Keep the articles for the next stage in Redis; what the next task gets is their ids.
    An emptied batch ends its chain here."""
    if not articles:
        raise Ignore()
    _store().put_docs(stage, [(a.id, a.token, a.model_dump_json()) for a in articles])
    return [[a.id, a.kind, a.token] for a in articles]


@_stage("clean")
def clean(self: StageTask, batch: list[list[str]]) -> list[list[str]]:
    refs = _fresh(_refs((batch,)))
    payloads = _store().payloads(refs)
    return _hand_over("clean", self.each(refs, payloads, _clean))


def _clean(ref: Ref, payload: bytes | None) -> Article:
    article_id, kind, token = ref
    if payload is None:
        raise BadArticle("payload not found in Redis (expired or never stored)")
    settings = get_settings()
    raw = pipeline.decode(payload, kind, settings)  # type: ignore[arg-type]
    article = pipeline.run_clean(article_id, token, kind, raw, settings, _chrome())  # type: ignore[arg-type]
    assert article.clean is not None
    log.info("cleaned", chars=len(article.clean.text), language=article.clean.language)
    return article


@_stage("entities")
def entities(self: StageTask, batch: list[list[str]]) -> list[list[str]]:
    return _hand_over("entities", self.each(*_take("clean", batch), _entities))


def _entities(_: Ref, doc: bytes | None) -> Article:
    article = pipeline.run_entities(_load("clean", doc))
    assert article.entities is not None
    log.info("entities_found", entities=len(article.entities.entities))
    return article


@_stage("summarize")
def summarize(self: StageTask, batch: list[list[str]]) -> list[list[str]]:
    return _hand_over("summarize", self.each(*_take("entities", batch), _summarize))


def _summarize(_: Ref, doc: bytes | None) -> Article:
    article = pipeline.run_summarize(_load("entities", doc), get_settings())
    assert article.summary is not None
    log.info("summarized", sentences=len(article.summary.sentences))
    return article


@_stage(
    "deliver",
    autoretry_for=(SinkUnavailable,),
    retry_backoff=2,
    retry_backoff_max=min(300, get_settings().visibility_timeout // 2),  # ETA < visibility
    retry_jitter=True,
    max_retries=get_settings().max_retries,
)
def deliver(self: StageTask, batch: list[list[str]]) -> dict[str, int]:
    articles = self.each(*_take("summarize", batch), lambda _, doc: _load("summarize", doc))
    records = [pipeline.to_record(a) for a in articles]
    written = {sink.name: sum(sink.write(records)) for sink in _sinks()}
    _store().mark_processed([(a.id, a.kind, a.token) for a in articles])
    for article in articles:
        with _article(article.id):
            log.info("delivered")
    log.info("batch_delivered", delivered=len(articles), written=written)
    return {"delivered": len(articles), "skipped": len(batch) - len(articles)}


def batches(refs: list[Ref], size: int) -> list[list[Ref]]:
    """``refs`` in as few batches of at most ``size`` as there can be, of even sizes (20 with a
    size of 16 → 10 + 10, not 16 + 4), so that worker processes share the work."""
    if not refs:
        return []
    step = -(-len(refs) // -(-len(refs) // size))
    return [refs[i : i + step] for i in range(0, len(refs), step)]


def enqueue(refs: list[Ref], settings: Settings | None = None, producer: Any = None) -> None:
    """Send these articles down the pipeline, a chain per batch."""
    settings = settings or get_settings()
    for batch in batches(refs, settings.batch_size):
        pipeline_chain(batch, settings.queue).apply_async(producer=producer)


def pipeline_chain(refs: list[Ref], queue: str | None = None) -> chain:
    """The chain of signatures for one batch; every task shows the articles' ids in Flower."""
    options = {"argsrepr": repr([ref[0] for ref in refs]), "queue": queue or get_settings().queue}
    return chain(
        clean.si([list(ref) for ref in refs]).set(**options),
        entities.s().set(**options),
        summarize.s().set(**options),
        deliver.s().set(**options),
    )
