"""The worker's signal handlers: its bootstrap (kombu fix, runtime, sweeper), its logging, and
the log context of each task. Connected when the worker starts (``worker.celery_app.Loader``),
never in a producer."""

from __future__ import annotations

import warnings
from typing import Any

import structlog
from celery import Task, current_app
from celery.exceptions import CPendingDeprecationWarning
from celery.signals import (
    after_setup_logger,
    task_postrun,
    task_prerun,
    task_received,
    worker_init,
    worker_process_init,
    worker_ready,
    worker_shutdown,
)

from worker.delivery import chain, kombu_fix, liveness, runtime, sweeper
from worker.delivery.protocol import refs_of


@worker_init.connect
def _bootstrap(sender: Any, **_: object) -> None:
    """In the worker's main process, before the pool starts (its processes inherit it)."""
    kombu_fix.apply()
    runtime.start(runtime.settings_of(sender.app))


@worker_process_init.connect
def _process_init(**_: object) -> None:
    """In each pool process: its own connections, from the main process's settings."""
    runtime.after_fork()


@after_setup_logger.connect
def _setup_logging(**_: object) -> None:
    from worker.logs import setup_logging

    setup_logging(runtime.settings_of(current_app))


@worker_ready.connect  # after Celery's logging setup, which shows every such warning
def _quiet_reconnect_warning(**_: object) -> None:
    """worker_cancel_long_running_tasks_on_connection_loss is set on purpose (see
    ``worker.celery_app``); Celery warns of the setting's future default after every reconnect
    anyway."""
    warnings.filterwarnings(
        "ignore", message=r"\s*In Celery 5\.1 we introduced", category=CPendingDeprecationWarning
    )


@worker_ready.connect
def _start_sweeper(sender: Any, **_: object) -> None:
    """Re-enqueue articles and fetches whose messages were lost (see
    ``worker.delivery.sweeper``)."""
    from worker.fetch.pending import Pending

    rt = runtime.current()
    settings = rt.settings
    app = sender.app

    def enqueue(refs: list) -> None:
        chain.enqueue(app, refs, batch_size=settings.batch_size, queue=settings.queue)

    def restore(tags: list[str]) -> int:
        return liveness.restore(app, tags)

    pending = Pending(settings, rt.ledger.redis, app)
    sweeper.start(rt.ledger, enqueue, restore, also=[pending.sweep])


@worker_ready.connect
def _start_liveness(sender: Any, **_: object) -> None:
    """Heartbeats, and the messages of gone workers given back (``worker.delivery.liveness``).
    Only with a Redis broker: RabbitMQ redelivers the moment a consumer's connection drops."""
    rt = runtime.current()
    if rt.settings.redis_broker:
        liveness.start(sender.app, rt.ledger, rt.worker_id)


@task_received.connect
def _hold(request: Any, **_: object) -> None:
    """In the main process, as a message arrives (prefetched or to run at once)."""
    rt = runtime.current()
    if rt.settings.redis_broker:
        rt.ledger.hold(rt.worker_id, request.id, request.message.delivery_tag)


@worker_shutdown.connect
def _forget_me(**_: object) -> None:
    """A worker stopping cleanly gives its prefetched messages back itself (kombu)."""
    rt = runtime.current()
    rt.ledger.forget_worker(rt.worker_id)


@task_prerun.connect
def _bind_context(task_id: str, task: Task, args: tuple[Any, ...], **_: object) -> None:
    structlog.contextvars.clear_contextvars()
    ids = [ref.id for ref in refs_of(args[0] if args else None)]
    structlog.contextvars.bind_contextvars(task_id=task_id, task=task.name, article_ids=ids)


@task_postrun.connect
def _unbind_context(**_: object) -> None:
    structlog.contextvars.clear_contextvars()
