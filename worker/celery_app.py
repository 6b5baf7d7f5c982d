"""The Celery application and its configuration, nothing else.

The configuration is built from ``config.Settings`` (the NEWSWORKER_* environment) by
:class:`Loader` the first time the app's configuration is looked at — as Celery's own
``config_from_object`` does —, so importing this module reads no setting and imports no
stage. At worker init the loader imports the tasks and the worker's signal handlers
(``worker.delivery.signals``), which apply the kombu fix and build each process's runtime.

Start a worker with ``celery -A worker worker`` (``newsworker up`` does it for you).
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.loaders.app import AppLoader
from kombu import Queue

from config import Settings, get_settings
from worker.delivery.runtime import CONF_KEY


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's settings for newsworker's ``settings``."""
    return {
        "broker_url": settings.effective_broker_url,
        # JSON only: a pickled message is refused at the worker.
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        # No result backend: the sinks and the ledger are where results go.
        "task_ignore_result": True,
        "result_backend": None,
        # At-least-once: acknowledge after the task ran; re-queue when a worker process dies.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": settings.prefetch,
        "worker_max_memory_per_child": settings.max_memory_mb * 1024,  # KiB
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": settings.task_time_limit * 0.9,
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            "unacked_restore_interval": settings.restore_interval,
            "unacked_restore_throttle": 1,
            "socket_keepalive": True,  # kombu drops it for unix sockets
            "socket_timeout": 30,
            "socket_connect_timeout": 10,
            "health_check_interval": 30,
            "retry_on_timeout": True,
        },
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "broker_heartbeat": 30,
        # Flower: task events on, and a "sent" event so queued tasks show up too.
        "worker_send_task_events": settings.task_events,
        "task_send_sent_event": settings.task_events,
        "task_default_queue": settings.queue,
        "task_queues": [Queue(settings.queue), Queue(settings.fetch_queue)],
        "task_routes": {"newsworker.fetch": {"queue": settings.fetch_queue}},
        "worker_hijack_root_logger": False,
        "worker_redirect_stdouts": False,
        # False: a running task finishes; its message comes back after the visibility timeout
        # and the article lands once.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # The settings themselves, for the worker's runtime (``runtime.settings_of``).
        CONF_KEY: settings,
    }


class Loader(AppLoader):
    """Reads the configuration from the NEWSWORKER_* settings, lazily; at worker init imports
    the worker's signal handlers."""

    def read_configuration(self, env: str = "CELERY_CONFIG_MODULE") -> dict[str, Any]:
        return celery_config(get_settings())

    def on_worker_init(self) -> None:
        import worker.delivery.signals
        import worker.ops.signals  # noqa: F401  (metrics and health endpoint, retention)


app = Celery("newsworker", loader=Loader, include=["worker.tasks", "worker.fetch.task"])
