"""The Celery application: broker, serialisation and delivery settings, all from ``config``.

Start a worker with ``celery -A worker.celery_app worker`` (``newsworker up`` does it for you).
"""

from __future__ import annotations

import warnings

import redis
from celery import Celery
from celery.exceptions import CPendingDeprecationWarning
from celery.signals import after_setup_logger, worker_init, worker_process_init, worker_ready
from kombu import Queue
from kombu.transport.redis import Channel as RedisChannel

from config import get_settings

settings = get_settings()


def _connparams_or_closed(self: RedisChannel, asynchronous: bool = False) -> dict:
    """kombu 5.7's Redis channel, asked for a new client once its connection is closed (after a
    broker connection loss: restoring unacknowledged messages on close, acknowledging a task
    that finished meanwhile), fails with an AttributeError that no caller expects, and the
    worker dies ("Unrecoverable error"). Raised as the connection error it is, every caller
    handles it: the consumer reconnects, the message stays unacknowledged in Redis and comes
    back after the visibility timeout."""
    if self.connection.client is None:
        raise redis.ConnectionError("the broker connection is closed")
    return _connparams(self, asynchronous)


_connparams = RedisChannel._connparams
RedisChannel._connparams = _connparams_or_closed  # type: ignore[method-assign]

app = Celery("newsworker", broker=settings.effective_broker_url, include=["worker.tasks"])
app.conf.update(
    # JSON only: a pickled message is refused at the worker.
    task_serializer="json",
    accept_content=["json"],
    result_serializer="json",
    # No result backend: the sinks and the store are where results go.
    task_ignore_result=True,
    result_backend=None,
    # At-least-once: acknowledge after the task ran; re-queue when a worker process dies.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=settings.prefetch,
    worker_max_memory_per_child=settings.max_memory_mb * 1024,  # KiB
    task_time_limit=settings.task_time_limit,
    task_soft_time_limit=settings.task_time_limit * 0.9,
    broker_transport_options={
        "visibility_timeout": settings.visibility_timeout,
        "unacked_restore_interval": settings.restore_interval,
        "unacked_restore_throttle": 1,
        "socket_keepalive": True,  # kombu drops it for unix sockets
        "socket_timeout": 30,
        "socket_connect_timeout": 10,
        "health_check_interval": 30,
        "retry_on_timeout": True,
    },
    broker_connection_retry_on_startup=True,
    broker_connection_max_retries=None,
    broker_heartbeat=30,
    # Flower: task events on, and a "sent" event so queued tasks show up too.
    worker_send_task_events=settings.task_events,
    task_send_sent_event=settings.task_events,
    task_default_queue=settings.queue,
    task_queues=[Queue(settings.queue)],
    worker_hijack_root_logger=False,
    worker_redirect_stdouts=False,
    worker_cancel_long_running_tasks_on_connection_loss=False,
)


@after_setup_logger.connect
def _setup_logging(**_: object) -> None:
    from worker.logs import setup_logging

    setup_logging(settings)


@worker_init.connect  # in the parent, so forked children share the models' memory
@worker_process_init.connect  # in a child: a no-op after fork, else loads them once
def _load_models(**_: object) -> None:
    from worker.clean import warm_up
    from worker.nlp import load_nlp

    load_nlp()
    warm_up()


@worker_ready.connect  # after Celery's logging setup, which shows every such warning
def _quiet_reconnect_warning(**_: object) -> None:
    """worker_cancel_long_running_tasks_on_connection_loss is set above, on purpose (False: a
    running task finishes; its message comes back after the visibility timeout and the article
    lands once); Celery warns of the setting's future default after every reconnect anyway."""
    warnings.filterwarnings(
        "ignore", message=r"\s*In Celery 5\.1 we introduced", category=CPendingDeprecationWarning
    )


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    """Re-enqueue articles whose messages were lost (see worker.sweeper)."""
    from worker import sweeper
    from worker.tasks import enqueue

    sweeper.start(settings, enqueue)
