"""Sending articles down the pipeline: a chain of the stages' tasks per batch, published by
task name (``worker.delivery.protocol.task_name``), so a producer needs the Celery app but no
task module, and none of the stages' libraries."""

from __future__ import annotations

from typing import Any

from celery import Celery, chain

from worker.delivery.protocol import STAGES, Ref, task_name


def batches(refs: list[Ref], size: int) -> list[list[Ref]]:
    """``refs`` in as few batches of at most ``size`` as there can be, of even sizes (20 with a
    size of 16 → 10 + 10, not 16 + 4), so that worker processes share the work."""
    if not refs:
        return []
    step = -(-len(refs) // -(-len(refs) // size))
    return [refs[i : i + step] for i in range(0, len(refs), step)]


def pipeline_chain(app: Celery, refs: list[Ref], queue: str) -> chain:
    """The chain of the stages' tasks for one batch; every task shows the articles' ids in
    Flower. The first task gets the batch; each next one what the previous returned."""
    options = {"argsrepr": repr([ref.id for ref in refs]), "queue": queue}
    first, *rest = STAGES
    return chain(
        app.signature(task_name(first), args=([list(ref) for ref in refs],), immutable=True,
                      **options),
        *(app.signature(task_name(stage), **options) for stage in rest),
    )  # fmt: skip


def enqueue(
    app: Celery, refs: list[Ref], *, batch_size: int, queue: str, producer: Any = None
) -> None:
    """Send these articles down the pipeline, a chain per batch."""
    for batch in batches(refs, batch_size):
        pipeline_chain(app, batch, queue).apply_async(producer=producer)
