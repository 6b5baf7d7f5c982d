"""Prometheus metrics of the pipeline, per article (not per Celery task, which is a batch).

Every worker serves them on ``http://NEWSWORKER_METRICS_ADDRESS:NEWSWORKER_METRICS_PORT/metrics``
(see :mod:`worker.ops.exporter`). Two kinds:

- *events*, counted where they happen, in whichever pool process: articles through each stage
  and how they ended, dead letters by stage and reason, per-article stage latency, submit →
  stream latency, sink errors, per-source volume. Celery's prefork pool runs tasks in several
  processes, so these use prometheus_client's multiprocess mode: each process writes its
  values to files in ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory per worker, set by
  :mod:`worker.ops.celery` before anything imports prometheus_client) and the exporter sums
  them. Counts outlive a pool process that is replaced.
- *state*, read from Redis and the broker at each scrape (:class:`StateCollector`): queue
  depth per queue, articles in flight, stream lengths, each consumer group's lag and pending
  entries, Redis memory. Every worker reports the same values; take ``max`` across instances.

The metric names and labels are documented in the README ("Operations"); the dashboard
(``deploy/grafana/newsworker.json``) and the alert rules (``deploy/prometheus/alerts.yml``) use
them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config import Settings

NAMESPACE = "newsworker"

# Seconds: a stage takes milliseconds (summarize) to seconds (entities of a long article).
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
# Submit → stream: queueing included, from a fraction of a second to hours in a backlog.
LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)

STAGE_ARTICLES = Counter(
    "stage_articles",
    "Articles a stage finished with, by outcome: ok (passed on), dead (dead-lettered there).",
    ["stage", "outcome"],
    namespace=NAMESPACE,
)
DEAD_LETTERS = Counter(
    "dead_letters",
    "Articles dead-lettered, by stage and reason (a short code, see reason_code).",
    ["stage", "reason"],
    namespace=NAMESPACE,
)
DELIVERED = Counter(
    "articles_delivered",
    "Articles processed end to end: written to every sink and announced on the stream.",
    namespace=NAMESPACE,
)
STAGE_SECONDS = Histogram(
    "stage_seconds",
    "Seconds one article spent in a stage's work (a batch's shared work divided among its "
    "articles).",
    ["stage"],
    buckets=STAGE_BUCKETS,
    namespace=NAMESPACE,
)
SUBMIT_TO_STREAM = Histogram(
    "submit_to_stream_seconds",
    "Seconds from an article's submission to its announcement on the stream.",
    buckets=LATENCY_BUCKETS,
    namespace=NAMESPACE,
)
SINK_ERRORS = Counter(
    "sink_errors",
    "Failed writes to a sink (each is retried; see dead_letters for those that gave up).",
    ["sink"],
    namespace=NAMESPACE,
)
SOURCE_ARTICLES = Counter(
    "source_articles",
    "Articles cleaned per source (the record's source, else its URL's host), by outcome: ok, "
    "empty (nothing left after cleaning), dead (any other reason).",
    ["source", "outcome"],
    namespace=NAMESPACE,
)

_REASONS = [
    (re.compile(p, re.I), code)
    for p, code in [
        (r"over the limit", "payload_too_large"),
        (r"not decodable", "undecodable"),
        (r"not valid JSON", "invalid_json"),
        (r"not an object", "not_an_object"),
        (r"invalid article", "invalid_article"),
        (r"unparseable HTML", "unparseable_html"),
        (r"empty after cleaning", "empty"),
        (r"clean text too long", "text_too_long"),
        (r"not Russian", "not_russian"),
        (r"not (found|in Redis)", "expired"),
        (r"time limit", "time_limit"),
        (r"poison message", "poison"),
        (r"SinkUnavailable|^(redis|jsonl|postgres): ", "sink_unavailable"),
    ]
]


def reason_code(reason: str) -> str:
    """A dead letter's reason as one of a few codes (a label must not carry free text)."""
    for pattern, code in _REASONS:
        if pattern.search(reason):
            return code
    return "error"


def source_label(source: str | None) -> str:
    return (source or "unknown")[:100]


# -- the hooks the pipeline calls ---------------------------------------------------------
def stage_ok(stage: str, seconds: float) -> None:
    """An article passed ``stage`` in ``seconds``."""
    STAGE_ARTICLES.labels(stage, "ok").inc()
    STAGE_SECONDS.labels(stage).observe(seconds)


def dead_lettered(stage: str, reason: str) -> None:
    STAGE_ARTICLES.labels(stage, "dead").inc()
    DEAD_LETTERS.labels(stage, reason_code(reason)).inc()


def source_cleaned(source: str | None, reason: str | None = None) -> None:
    """The clean stage's verdict on an article of ``source``: ok (``reason`` None), empty, or
    dead."""
    code = "ok" if reason is None else reason_code(reason)
    outcome = code if code in ("ok", "empty") else "dead"
    SOURCE_ARTICLES.labels(source_label(source), outcome).inc()


def submitted_ages(ledger: Any, refs: list[Any]) -> list[float | None]:
    """Seconds since each article's payload was stored, from what is left of its TTL
    (NEWSWORKER_PAYLOAD_TTL when submitted); None where it is gone."""
    ttl = ledger.settings.payload_ttl
    return [ttl - ms / 1000 if ms >= 0 else None for ms in ledger.payload_ttls(refs)]


def delivered(seconds_each: float, ages: Iterable[float | None]) -> None:
    """Articles landed (``ages``: seconds since each was submitted, None where unknown)."""
    for age in ages:
        DELIVERED.inc()
        STAGE_SECONDS.labels("deliver").observe(seconds_each)
        STAGE_ARTICLES.labels("deliver", "ok").inc()
        if age is not None:
            SUBMIT_TO_STREAM.observe(max(0.0, age))


def sink_failed(sink: str) -> None:
    SINK_ERRORS.labels(sink).inc()


class Timer:
    """``with Timer() as t: …; t.seconds``"""

    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


# -- state, read at each scrape -------------------------------------------------------------
class StateCollector(Collector):
    """Queue depth, in-flight articles, streams and consumer groups, Redis memory: read from
    Redis and the broker when Prometheus scrapes. A source that does not answer is left out
    of that scrape (and counted in ``newsworker_scrape_errors``)."""

    def __init__(self, settings: Settings, queues: list[str] | None = None) -> None:
        self.settings = settings
        self.queues = queues or list(dict.fromkeys([settings.queue, settings.fetch_queue]))
        self._redis: Any = None

    def _client(self) -> Any:
        if self._redis is None:
            from worker.delivery.ledger import connect

            self._redis = connect(self.settings)
        return self._redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        errors = GaugeMetricFamily(
            f"{NAMESPACE}_scrape_errors", "Sources of state that did not answer this scrape.",
            labels=["source"],
        )  # fmt: skip
        try:
            yield self._queues()
        except Exception:
            errors.add_metric(["broker"], 1)
        try:
            yield from self._redis_state()
        except Exception:
            errors.add_metric(["redis"], 1)
        yield errors

    def _queues(self) -> GaugeMetricFamily:
        from kombu import Connection
        from kombu.exceptions import ChannelError

        depth = GaugeMetricFamily(
            f"{NAMESPACE}_queue_messages", "Messages waiting in a broker queue (a message "
            "carries a batch of up to NEWSWORKER_BATCH_SIZE articles).", labels=["queue"],
        )  # fmt: skip
        with Connection(self.settings.effective_broker_url, connect_timeout=5) as conn:
            channel = conn.default_channel
            for queue in self.queues:
                try:
                    _, messages, _ = channel.queue_declare(queue=queue, passive=True)
                except ChannelError:  # not declared yet: nothing sent to it
                    messages = 0
                    channel = conn.channel()
                depth.add_metric([queue], messages)
        return depth

    def _redis_state(self) -> Iterator[GaugeMetricFamily]:
        from worker.delivery.ledger import Keys

        s, client, keys = self.settings, self._client(), Keys(self.settings)
        inflight = GaugeMetricFamily(
            f"{NAMESPACE}_inflight_articles", "Articles submitted and not landed yet."
        )
        inflight.add_metric([], client.zcard(keys.inflight))
        yield inflight
        entries = GaugeMetricFamily(
            f"{NAMESPACE}_stream_entries", "Entries in a stream.", labels=["stream"]
        )
        lag = GaugeMetricFamily(
            f"{NAMESPACE}_consumer_group_lag",
            "Stream entries a consumer group has not been given yet.",
            labels=["stream", "group"],
        )
        pending = GaugeMetricFamily(
            f"{NAMESPACE}_consumer_group_pending",
            "Entries a consumer group was given and has not acknowledged.",
            labels=["stream", "group"],
        )
        for name, key in ((s.stream, keys.stream), (s.dead_stream, keys.dead)):
            entries.add_metric([name], client.xlen(key))
            if key != keys.stream or not client.exists(key):
                continue
            for group in client.xinfo_groups(key):
                label = [name, _text(group["name"])]
                pending.add_metric(label, group["pending"])
                if group.get("lag") is not None:
                    lag.add_metric(label, group["lag"])
        yield entries
        yield lag
        yield pending
        memory = GaugeMetricFamily(
            f"{NAMESPACE}_redis_memory_bytes", "Memory Redis uses (INFO used_memory)."
        )
        memory.add_metric([], client.info("memory")["used_memory"])
        yield memory


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
