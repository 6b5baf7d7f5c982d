"""Celery tasks: thin adapters between the delivery protocol (``worker.delivery``) and the
pipeline's steps (``worker.pipeline``), one per stage, chained in ``STAGES`` order.

A chain carries a *batch*: up to ``NEWSWORKER_BATCH_SIZE`` articles submitted together travel
in one message per stage. A message holds only the articles' Refs (what Flower shows): each
stage ``take``s its input from the ledger (the payload, or the previous stage's result) and
``hand_over``s its result there for the next, so the worker's main process never copies
article text between the broker and its pool. What happens when something fails is the
policy of :class:`worker.delivery.policy.StageTask`.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery.exceptions import Ignore
from celery.signals import worker_init, worker_process_init

from worker import pipeline, sinks
from worker.celery_app import app
from worker.delivery import runtime
from worker.delivery.policy import StageTask
from worker.delivery.protocol import Ref, refs_of, task_name
from worker.errors import BadArticle, SinkUnavailable
from worker.schema import Article

log = structlog.get_logger("worker.tasks")


@worker_init.connect  # in the parent, so forked children share the models' memory
@worker_process_init.connect  # in a child: a no-op after fork, else loads them once
def _load_models(**_: object) -> None:
    from worker.clean import warm_up
    from worker.models import get_models

    get_models()
    warm_up()


def _stage(name: str, **options: Any):
    return app.task(name=task_name(name), base=StageTask, bind=True, stage=name, **options)


def _load(stage: str, doc: bytes | None) -> Article:
    if doc is None:
        raise BadArticle(f"the {stage} stage's result is not in Redis (expired?)")
    return Article.model_validate_json(doc)


def _hand_over(stage: str, articles: list[Article]) -> list[Ref]:
    """Keep the articles for the next stage; what the next task gets is their Refs. An emptied
    batch ends its chain here."""
    if not articles:
        raise Ignore()
    return runtime.current().ledger.hand_over(stage, articles)


@_stage("clean")
def clean_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, payloads = runtime.current().ledger.take("clean", refs_of(batch))
    return _hand_over("clean", self.each(refs, payloads, _clean))


def _clean(ref: Ref, payload: bytes | None) -> Article:
    if payload is None:
        raise BadArticle("payload not found in Redis (expired or never stored)")
    rt = runtime.current()
    raw = pipeline.decode(payload, ref.kind, rt.settings)  # type: ignore[arg-type]
    article = pipeline.run_clean(ref.id, ref.submission, ref.kind, raw, rt.settings, rt.chrome)  # type: ignore[arg-type]
    assert article.clean is not None
    log.info("cleaned", chars=len(article.clean.text), language=article.clean.language)
    return article


@_stage("entities")
def entities_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, docs = runtime.current().ledger.take("entities", refs_of(batch))
    return _hand_over("entities", self.each(refs, docs, _entities))


def _entities(_: Ref, doc: bytes | None) -> Article:
    article = pipeline.run_entities(_load("clean", doc))
    assert article.entities is not None
    log.info("entities_found", entities=len(article.entities.entities))
    return article


@_stage("summarize")
def summarize_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, docs = runtime.current().ledger.take("summarize", refs_of(batch))
    return _hand_over("summarize", self.each(refs, docs, _summarize))


def _summarize(_: Ref, doc: bytes | None) -> Article:
    article = pipeline.run_summarize(_load("entities", doc), runtime.current().settings)
    assert article.summary is not None
    log.info("summarized", sentences=len(article.summary.sentences))
    return article


@_stage("deliver")
def deliver_task(self: StageTask, batch: list[list[str]]) -> dict[str, int]:
    rt = runtime.current()
    refs, docs = rt.ledger.take("deliver", refs_of(batch))
    articles = self.each(refs, docs, lambda _, doc: _load("summarize", doc))
    landing: list[Ref] = []
    records = []
    for article in articles:
        ref, record = Ref(article.id, article.kind, article.submission), pipeline.to_record(article)
        if reason := sinks.refusal(rt.sinks, record):  # before any sink is written
            self.dead_letter(ref, reason)
        else:
            landing.append(ref)
            records.append(record)
    last_try = self.request.retries >= rt.settings.max_retries
    try:
        written = sinks.deliver(rt.sinks, records, last_try=last_try)
    except SinkUnavailable as exc:
        raise self.retry_later(exc) from exc
    rt.ledger.land(landing)
    for ref in landing:
        with structlog.contextvars.bound_contextvars(article_id=ref.id):
            log.info("delivered")
    log.info("batch_delivered", delivered=len(landing), written=written)
    return {"delivered": len(landing), "skipped": len(batch) - len(landing)}
