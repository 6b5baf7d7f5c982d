"""Where processed records go. Every sink has the same small interface (:class:`Sink`), and
``deliver`` writes a batch to all of them so that an article lands in exactly one place.

A sink's ``write`` takes a batch of records and is idempotent per (record id, submission):
writing the same record twice — a redelivered message, a worker killed after the write —
stores and announces it once. An unreachable sink raises
:class:`worker.errors.SinkUnavailable`; the deliver task retries.

Exactly one place, whatever a sink does:

- Before anything is written, every sink is asked what it would refuse (``refusal``: e.g.
  PostgreSQL refuses U+0000 in text); such an article is dead-lettered and written nowhere.
- The sinks are written in ``ORDER``: the one that can take a write back (PostgreSQL: a
  transaction, and ``discard``) first, the append-only file next, the Redis stream that
  announces an article last — so a sink failing after the retries leaves nothing behind in the
  sinks before it that they can take back, and nothing announced.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

from config import Settings
from worker.errors import SinkUnavailable
from worker.schema import Record

ORDER = ("postgres", "jsonl", "redis")
"""The order the sinks are written in (see the module's docstring)."""


class Sink(Protocol):
    name: str

    def refusal(self, record: Record) -> str | None:
        """Why this sink would refuse the record, or None: asked before anything is written."""
        ...

    def write(self, records: Sequence[Record]) -> list[bool]:
        """Store the records (a batch); for each, False if its (id, submission) was already
        stored."""
        ...

    def discard(self, records: Sequence[Record]) -> None:
        """Take back what ``write`` stored of these records, where the sink can (a later sink
        failed for good and the articles are dead-lettered); a no-op where it cannot."""
        ...

    def close(self) -> None: ...


def refusal(sinks: Sequence[Sink], record: Record) -> str | None:
    """The first sink's reason to refuse the record, or None if all would take it."""
    for sink in sinks:
        if reason := sink.refusal(record):
            return reason
    return None


def deliver(sinks: Sequence[Sink], records: Sequence[Record], *, last_try: bool) -> dict[str, int]:
    """Write the records to every sink, in order; how many each newly stored. If a sink is
    unavailable on the ``last_try``, the sinks before it take their writes back before the
    error goes on (the articles will be dead-lettered)."""
    written: dict[str, int] = {}
    done: list[Sink] = []
    for sink in sinks:
        try:
            written[sink.name] = sum(sink.write(records))
        except SinkUnavailable as exc:
            exc.sink = sink.name
            if last_try:
                for earlier in done:
                    with contextlib.suppress(SinkUnavailable):
                        earlier.discard(records)
            raise
        done.append(sink)
    return written


def build_sinks(settings: Settings) -> list[Sink]:
    """The sinks named in ``NEWSWORKER_SINKS``, in ``ORDER``."""
    from worker.sinks.jsonl import JsonlSink
    from worker.sinks.postgres import PostgresSink
    from worker.sinks.redis import RedisSink

    known = {"redis": RedisSink, "jsonl": JsonlSink, "postgres": PostgresSink}
    unknown = [n for n in settings.sink_names if n not in known]
    if unknown:
        raise ValueError(f"unknown sink(s) {unknown}; choose from {sorted(known)}")
    names = sorted(dict.fromkeys(settings.sink_names), key=ORDER.index)
    return [known[name](settings) for name in names]
