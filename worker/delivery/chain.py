"""Sending articles down the pipeline: a chain of the stages' tasks per batch, published by
task name (``worker.delivery.protocol.task_name``), so a producer needs the Celery app but no
task module, and none of the stages' libraries."""

from __future__ import annotations

from typing import Any

from celery import Celery, chain

from worker.delivery.protocol import STAGES, Ref, priority, task_name


def batches(refs: list[Ref], size: int) -> list[list[Ref]]:
    """``refs`` in as few batches of at most ``size`` as there can be, of even sizes (20 with a
    size of 16 → 10 + 10, not 16 + 4), so that worker processes share the work."""
    if not refs:
        return []
    step = -(-len(refs) // -(-len(refs) // size))
    return [refs[i : i + step] for i in range(0, len(refs), step)]


def pipeline_chain(app: Celery, refs: list[Ref], queue: str, *, depth_first: bool = True) -> chain:
    """The chain of the stages' tasks for one batch; every task shows the articles' ids in
    Flower. The first task gets the batch; each next one what the previous returned. Each task
    has its stage's priority (``protocol.priority``: later stages first), unless not
    ``depth_first`` (all alike, as ``newsworker bench`` measures for comparison)."""
    options = {"argsrepr": repr([ref.id for ref in refs]), "queue": queue}

    def options_of(stage: str) -> dict:
        return {**options, "priority": priority(stage) if depth_first else priority("clean")}

    first, *rest = STAGES
    return chain(
        app.signature(task_name(first), args=([list(ref) for ref in refs],), immutable=True,
                      **options_of(first)),
        *(app.signature(task_name(stage), **options_of(stage)) for stage in rest),
    )  # fmt: skip


def enqueue(
    app: Celery,
    refs: list[Ref],
    *,
    batch_size: int,
    queue: str,
    producer: Any = None,
    depth_first: bool = True,
) -> None:
    """Send these articles down the pipeline, a chain per batch."""
    for batch in batches(refs, batch_size):
        pipeline_chain(app, batch, queue, depth_first=depth_first).apply_async(producer=producer)
