"""What a worker does for operations when it starts (connected at worker init by
``worker.celery_app.Loader``): serve ``/metrics`` and ``/healthz`` from its main process, and
trim the streams (``worker.ops.retention``; one worker of the cluster at a time)."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready

from worker.delivery import runtime


@worker_ready.connect
def _start_ops_endpoint(sender: Any, **_: object) -> None:
    from worker.ops import exporter

    exporter.start(runtime.settings_of(sender.app))


@worker_ready.connect
def _start_retention(sender: Any, **_: object) -> None:
    from worker.ops import retention

    retention.start(runtime.settings_of(sender.app))
