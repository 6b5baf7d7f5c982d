"""Celery tasks: thin adapters around ``worker.pipeline``, chained clean → entities →
summarize → deliver.

Each task takes the article id in its first argument (visible in Flower); a permanent error
(:class:`BadArticle`, or any unexpected exception) dead-letters the article and ends its chain;
an unreachable sink makes ``deliver`` retry with exponential backoff and jitter, and
dead-letter the article when retries run out.
"""

from __future__ import annotations

import functools
from typing import Any

import structlog
from celery import Task, chain
from celery.exceptions import Ignore, SoftTimeLimitExceeded, TimeLimitExceeded
from celery.signals import task_postrun, task_prerun

from config import get_settings
from worker import pipeline
from worker.boilerplate import SourceChrome
from worker.celery_app import app
from worker.errors import BadArticle, SinkUnavailable
from worker.schema import Article
from worker.sinks import Sink, build_sinks
from worker.store import ORDINARY, Store

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


def _identity(args: tuple[Any, ...]) -> tuple[str, str, str]:
    """(article id, token, kind) of a task's arguments, whichever stage it is."""
    first = args[0] if args else None
    if isinstance(first, dict):  # entities, summarize, deliver: an Article
        return first.get("id", "?"), first.get("token", ORDINARY), first.get("kind", "json")
    article_id, kind, token = (*args, None, None, None)[:3]  # clean(article_id, kind, token)
    return article_id or "?", token or ORDINARY, kind or "json"


@task_prerun.connect
def _bind_context(task_id: str, task: Task, args: tuple[Any, ...], **_: object) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(
        task_id=task_id, task=task.name, article_id=_identity(tuple(args))[0]
    )


@task_postrun.connect
def _unbind_context(**_: object) -> None:
    structlog.contextvars.clear_contextvars()


class StageTask(Task):
    """Base of the pipeline's tasks: a final failure sends the article to the dead letters.

    So does a *poison* message: one delivered more than ``NEWSWORKER_MAX_DELIVERIES`` times
    without finishing, because it kills the worker process that runs it (OOM, crash).
    """

    stage = "unknown"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.id and not request.is_eager:
            limit = get_settings().max_deliveries
            article_id, token, kind = _identity(args)
            n = _store().task_started(f"{request.id}:{request.retries}", article_id, kind, token)
            if n > limit:
                reason = f"poison message: delivered {n} times without finishing"
                _store().dead_letter(article_id, token, stage=self.stage, reason=reason, kind=kind)
                log.error("dead_lettered", stage=self.stage, reason=reason)
                raise Ignore()
        return super().__call__(*args, **kwargs)

    def after_return(self, status, retval, task_id, args, kwargs, einfo) -> None:  # type: ignore[override]
        _store().forget_deliveries(f"{task_id}:{self.request.retries}")

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:  # type: ignore[override]
        article_id, token, kind = _identity(tuple(args))
        reason = _reason(exc)
        written = _store().dead_letter(
            article_id, token, stage=self.stage, reason=reason, kind=kind
        )
        log.warning("dead_lettered", stage=self.stage, reason=reason, written=written)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, BadArticle):
        return str(exc)
    if isinstance(exc, (SoftTimeLimitExceeded, TimeLimitExceeded)):
        return f"stage time limit exceeded ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _stage(name: str, **options: Any):
    return app.task(name=f"newsworker.{name}", base=StageTask, bind=True, stage=name, **options)


@_stage("clean")
def clean(self: StageTask, article_id: str, kind: str, token: str) -> dict[str, Any]:
    settings = get_settings()
    store = _store()
    if store.landed(article_id, token):
        log.info("already_landed")
        store.settle(article_id, kind, token)
        raise Ignore()
    payload = store.payload(article_id)
    if payload is None:
        raise BadArticle("payload not found in Redis (expired or never stored)")
    raw = pipeline.decode(payload, kind, settings)  # type: ignore[arg-type]
    article = pipeline.run_clean(article_id, token, kind, raw, settings, _chrome())
    log.info("cleaned", chars=len(article.clean.text), language=article.clean.language)
    return article.model_dump(mode="json")


@_stage("entities")
def entities(self: StageTask, doc: dict[str, Any]) -> dict[str, Any]:
    article = pipeline.run_entities(Article.model_validate(doc))
    log.info("entities_found", entities=len(article.entities.entities))
    return article.model_dump(mode="json")


@_stage("summarize")
def summarize(self: StageTask, doc: dict[str, Any]) -> dict[str, Any]:
    article = pipeline.run_summarize(Article.model_validate(doc), get_settings())
    log.info("summarized", sentences=len(article.summary.sentences))
    return article.model_dump(mode="json")


@_stage(
    "deliver",
    autoretry_for=(SinkUnavailable,),
    retry_backoff=2,
    retry_backoff_max=min(300, get_settings().visibility_timeout // 2),  # ETA < visibility
    retry_jitter=True,
    max_retries=get_settings().max_retries,
)
def deliver(self: StageTask, doc: dict[str, Any]) -> str:
    article = Article.model_validate(doc)
    store = _store()
    if store.landed(article.id, article.token):
        log.info("already_landed")
        return "duplicate"
    record = pipeline.to_record(article)
    written = {sink.name: sink.write(record) for sink in _sinks()}
    store.mark_processed(article.id, article.kind, article.token)
    log.info("delivered", sinks=written)
    return "delivered"


def pipeline_chain(article_id: str, kind: str, token: str, queue: str | None = None) -> chain:
    """The chain of signatures for one article; every task shows the article id in Flower."""
    options = {"argsrepr": repr((article_id,)), "queue": queue or get_settings().queue}
    return chain(
        clean.si(article_id, kind, token).set(queue=options["queue"]),
        entities.s().set(**options),
        summarize.s().set(**options),
        deliver.s().set(**options),
    )
