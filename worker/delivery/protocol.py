"""The words of the delivery protocol: an article in flight (:class:`Ref`), a submission, and
the order of the stages. Every other module of ``worker.delivery`` speaks them."""

from __future__ import annotations

from typing import NamedTuple

ORDINARY = "1"
"""The submission of an article's first, ordinary processing. ``--force`` gives each further
processing a fresh random submission; a second ordinary submission of an id is a duplicate."""

STAGES = ("clean", "entities", "summarize", "group", "deliver")
"""The order an article goes through: one Celery task each, chained in this order."""

HANDED_OVER = STAGES[:-1]
"""The stages whose result waits in Redis for the next stage (``deliver`` lands instead)."""


class Ref(NamedTuple):
    """One article in flight: what a task message carries per article (as a JSON list)."""

    id: str
    kind: str  # how the payload is encoded: json, text or html
    submission: str

    @classmethod
    def parse(cls, item: object) -> Ref | None:
        """A Ref from a message's ``[id, kind, submission]``; None for anything else."""
        if isinstance(item, list | tuple) and len(item) == 3:
            return cls(str(item[0]), str(item[1]), str(item[2]))
        return None


PRIORITY_STEP = 2
PRIORITY_STEPS = tuple(PRIORITY_STEP * i for i in range(len(STAGES)))
"""kombu's Redis priority steps (one list per step; kombu clamps priorities to 0–9): one a stage."""


def priority(stage: str) -> int:
    """The message priority of a stage's task: a later stage's task is taken first, so that
    under load articles go through to the end (depth first) rather than every article waiting
    for the whole backlog's cleaning. In kombu's Redis transport 0 is the highest priority:
    deliver 0, group 2, summarize 4, entities 6, clean 8 (``PRIORITY_STEPS``)."""
    return PRIORITY_STEP * (len(STAGES) - 1 - STAGES.index(stage))


def broker_lists(queue: str) -> list[str]:
    """A queue's lists in kombu's Redis transport, one per priority step (kombu's names)."""
    return [queue, *(f"{queue}\x06\x16{step}" for step in PRIORITY_STEPS[1:])]


def task_name(stage: str) -> str:
    """The Celery task name of a stage: what the chain builder publishes by."""
    return f"newsworker.{stage}"


def refs_of(batch: object) -> list[Ref]:
    """The well-formed Refs of a task's batch argument (a list of ``[id, kind, submission]``)."""
    if not isinstance(batch, list):
        return []
    return [ref for ref in map(Ref.parse, batch) if ref is not None]
