"""Where processed records go. Every sink has the same small interface (:class:`Sink`).

A sink's ``write`` takes a batch of records and is idempotent per (record id, submission):
writing the same record twice — a redelivered message, a worker killed after the write —
stores and announces it once.
An unreachable sink raises :class:`worker.errors.SinkUnavailable`; the deliver task retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from config import Settings
from worker.schema import Record


class Sink(Protocol):
    name: str

    def write(self, records: Sequence[Record]) -> list[bool]:
        """Store the records (a batch); for each, False if its (id, submission) was already
        stored."""
        ...

    def close(self) -> None: ...


def build_sinks(settings: Settings) -> list[Sink]:
    """The sinks named in ``NEWSWORKER_SINKS``; redis last, so that its stream announces an
    article only once every other sink has it."""
    from worker.sinks.jsonl import JsonlSink
    from worker.sinks.postgres import PostgresSink
    from worker.sinks.redis import RedisSink

    known = {"redis": RedisSink, "jsonl": JsonlSink, "postgres": PostgresSink}
    unknown = [n for n in settings.sink_names if n not in known]
    if unknown:
        raise ValueError(f"unknown sink(s) {unknown}; choose from {sorted(known)}")
    names = sorted(dict.fromkeys(settings.sink_names), key=lambda name: name == "redis")
    return [known[name](settings) for name in names]
