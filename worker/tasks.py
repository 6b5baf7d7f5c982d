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

import random
from typing import TYPE_CHECKING, Any

import structlog
from celery import Task
from celery.exceptions import Ignore
from celery.signals import worker_init, worker_process_init

from worker import pipeline, sinks
from worker.alerts.dispatch import Call
from worker.alerts.webhook import WebhookFailed
from worker.celery_app import app
from worker.clean.chrome import source_domain
from worker.delivery import runtime
from worker.delivery.policy import StageTask
from worker.delivery.protocol import Ref, task_name
from worker.errors import BadArticle, SinkUnavailable
from worker.ops import metrics
from worker.pipeline import Document
from worker.schema import Record

if TYPE_CHECKING:
    from worker.stories.signatures import Signature

log = structlog.get_logger("worker.tasks")


@worker_init.connect  # in the parent, so forked children share the models' memory
@worker_process_init.connect  # in a child: a no-op after fork, else loads them once
def _load_models(sender: Any = None, **_: object) -> None:
    if _fetch_only(sender):
        return  # a fetch worker (`newsworker worker --fetch`) runs no NLP stage
    from worker.clean import warm_up
    from worker.nlp import load_nlp
    from worker.text import load_language_model

    load_nlp()
    load_language_model()
    warm_up()


def _fetch_only(sender: Any) -> bool:
    """Whether this worker consumes the fetch queue only."""
    celery = getattr(sender, "app", None) or app
    consumed = set(getattr(celery.amqp.queues, "consume_from", None) or {})
    return consumed == {runtime.settings_of(celery).fetch_queue}


def _stage(name: str, **options: Any):
    return app.task(name=task_name(name), base=StageTask, bind=True, stage=name, **options)


def _load(stage: str, doc: bytes | None) -> Document:
    if doc is None:
        raise BadArticle(f"the {stage} stage's result is not in Redis (expired?)")
    return pipeline.load_document(doc)


def _ref(doc: Document) -> Ref:
    return Ref(doc["id"], doc["kind"], doc["submission"])


def _hand_over(stage: str, docs: list[Document]) -> list[Ref]:
    """Keep the articles' documents for the next stage; what the next task gets is their Refs.
    An emptied batch ends its chain here."""
    if not docs:
        raise Ignore()
    handed = [(_ref(doc), pipeline.dump_document(doc)) for doc in docs]
    return runtime.current().ledger.hand_over(stage, handed)


@_stage("clean")
def clean_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, payloads, _ = self.taken()
    return _hand_over("clean", self.each(refs, payloads, _clean))


def _clean(ref: Ref, payload: bytes | None) -> Document:
    if payload is None:
        raise BadArticle("payload not found in Redis (expired or never stored)")
    rt = runtime.current()
    raw = None
    try:
        raw = pipeline.decode(payload, ref.kind, rt.settings)  # type: ignore[arg-type]
        article = pipeline.run_clean(ref.id, ref.submission, ref.kind, raw, rt.settings, rt.chrome)  # type: ignore[arg-type]
    except BadArticle as exc:
        metrics.source_cleaned(raw and source_domain(raw.source, raw.url), str(exc))
        raise
    metrics.source_cleaned(source_domain(article.source, article.url))
    assert article.clean is not None
    log.info("cleaned", chars=len(article.clean.text), language=article.clean.language)
    return pipeline.document(article)


@_stage("entities")
def entities_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, docs, _ = self.taken()
    return _hand_over("entities", self.each(refs, docs, _entities))


def _entities(_: Ref, doc: bytes | None) -> Document:
    out = pipeline.run_entities(_load("clean", doc))
    log.info("entities_found", entities=len(out["entities"]["entities"]))
    return out


@_stage("summarize")
def summarize_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, docs, _ = self.taken()
    return _hand_over("summarize", self.each(refs, docs, _summarize))


def _summarize(_: Ref, doc: bytes | None) -> Document:
    out = pipeline.run_summarize(_load("entities", doc), runtime.current().settings)
    log.info("summarized", sentences=len(out["summary"]["sentences"]))
    return out


@_stage("group")
def group_task(self: StageTask, batch: list[list[str]]) -> list[Ref]:
    refs, docs, _ = self.taken()
    index = runtime.current().stories
    if index is None:  # grouping off: handed over unchanged
        return _hand_over("group", self.each(refs, docs, lambda _, doc: _load("summarize", doc)))
    signed = self.each(refs, docs, _sign, measured=False)
    with metrics.Timer() as took:
        grouped = pipeline.run_group(signed, index)  # the whole batch: two round trips
    for out in grouped:
        metrics.stage_ok("group", took.seconds / len(grouped))  # its share of the batch's
        log.info(
            "grouped",
            article_id=out["id"],
            duplicate_of=out["duplicate_of"],
            story=out["story"]["id"],
            story_size=out["story"]["size"],
        )
    return _hand_over("group", grouped)


def _sign(_: Ref, doc: bytes | None) -> tuple[Document, Signature]:
    loaded = _load("summarize", doc)
    return loaded, pipeline.sign(loaded)


@_stage("deliver")
def deliver_task(self: StageTask, batch: list[list[str]]) -> dict[str, int]:
    rt = runtime.current()
    refs, docs, _ = self.taken()
    landing: list[Ref] = []
    records = []
    for ref, record in self.each(refs, docs, _record):
        if reason := sinks.refusal(rt.sinks, record):  # before any sink is written
            self.dead_letter(ref, reason)
        else:
            landing.append(ref)
            records.append(record)
    last_try = self.request.retries >= rt.settings.max_retries
    with metrics.Timer() as took:
        try:
            written = sinks.deliver(rt.sinks, records, last_try=last_try)
        except SinkUnavailable as exc:
            metrics.sink_failed(exc.sink)
            raise self.retry_later(exc) from exc
    # Standing queries: each match noted (and announced) once, before the articles land, so a
    # task that dies here is run again and its webhook calls are not lost.
    for call in rt.alerts.check(records):
        alert_webhook_task.apply_async(
            (call.rule_id, call.article_id, call.url, call.body),
            queue=rt.settings.queue,
            argsrepr=repr([call.rule_id, call.article_id]),
        )
    ages = metrics.submitted_ages(rt.ledger, landing)
    landed = rt.ledger.land(landing)
    metrics.delivered(
        took.seconds / max(1, len(landing)), [age for age, new in zip(ages, landed) if new]
    )
    for ref in landing:
        with structlog.contextvars.bound_contextvars(article_id=ref.id):
            log.info("delivered")
    log.info("batch_delivered", delivered=len(landing), written=written)
    return {"delivered": len(landing), "skipped": len(batch) - len(landing)}


def _record(_: Ref, doc: bytes | None) -> tuple[Ref, Record]:
    loaded = _load("group", doc)
    return _ref(loaded), pipeline.to_record(loaded)


@app.task(name="newsworker.alert_webhook", bind=True, max_retries=None)
def alert_webhook_task(self: Task, rule_id: str, article_id: str, url: str, body: str) -> str:
    """POST one alert match to its rule's webhook; retried with exponential backoff (1 s,
    2 s, 4 s, … 5 min at most, with jitter), dead-lettered after NEWSWORKER_ALERT_RETRIES."""
    rt = runtime.current()
    call = Call(rule_id, article_id, url, body)
    attempt = self.request.retries + 1
    try:
        outcome = rt.alerts.send(call, attempt)
    except WebhookFailed as exc:
        if self.request.retries >= rt.settings.alert_retries:
            rt.alerts.dead(call, str(exc))
            log.warning("alert_dead_lettered", rule=rule_id, article_id=article_id, reason=str(exc))
            return "dead"
        delay = min(2**self.request.retries, 300) * random.uniform(0.8, 1.0)
        log.info("alert_webhook_retry", rule=rule_id, article_id=article_id, error=str(exc),
                 attempt=attempt, countdown=round(delay, 1))  # fmt: skip
        raise self.retry(countdown=delay, exc=exc) from exc
    log.info("alert_webhook", rule=rule_id, article_id=article_id, outcome=outcome, attempt=attempt)
    return outcome
