"""What a worker does for operations when it starts (loaded by the Celery app's ``include``):
serve ``/metrics`` and ``/healthz`` from its main process, and trim the streams
(worker.ops.retention; one worker of the cluster at a time)."""

from __future__ import annotations

from celery.signals import worker_ready

from config import get_settings


@worker_ready.connect
def _start_ops_endpoint(**_: object) -> None:
    from worker.ops import exporter

    exporter.start(get_settings())


@worker_ready.connect
def _start_retention(**_: object) -> None:
    from worker.ops import retention

    retention.start(get_settings())
