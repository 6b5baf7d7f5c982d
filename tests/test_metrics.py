"""A real worker (two prefork processes) serves per-article metrics summed over its pool
processes, the state of queues, streams and consumer groups, and a health check."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest
from conftest import SAMPLE, Worker, namespace, newsworker, settings_overrides
from prometheus_client.parser import text_string_to_metric_families

from config import Settings
from worker.delivery.ledger import Keys, connect
from worker.ops import health
from worker.ops.metrics import reason_code


def endpoint(worker) -> str:
    """The worker's ops endpoint, as it logged it."""
    for _ in range(100):
        for line in worker.log.read_text(errors="replace").splitlines():
            if '"ops_endpoint"' in line:
                return json.loads(line)["url"]
        time.sleep(0.1)
    raise AssertionError(worker.tail())


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=30) as response:
        text = response.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory, dev_pages):
    tmp = tmp_path_factory.mktemp("metrics")
    env = namespace(batch_size=4)
    settings = Settings(**settings_overrides(env))
    good = [
        {"id": f"m-{i}", "text": p["page_text"], "source": f"site{i % 2}.ru"}
        for i, p in enumerate(dev_pages[:12])
    ]
    bad = [
        {"id": "m-empty", "html": "<html><body><script>x()</script></body></html>",
         "source": "site0.ru"},
        {"id": "m-nobody", "title": "no text"},
    ]  # fmt: skip
    path = tmp / "batch.jsonl"
    path.write_text("".join(json.dumps(a, ensure_ascii=False) + "\n" for a in good + bad))
    (tmp / "broken.json").write_text("{not json")
    worker = Worker(tmp / "w.log", concurrency=2, env=env).start()
    try:
        url = endpoint(worker)
        out = newsworker("submit", str(path), str(tmp / "broken.json"), "--wait", env=env)
        assert json.loads(out.stdout)["processed"] == 12, out.stdout + worker.tail()
        # A consumer group that read 5 and acknowledged 3 of them; another that read nothing.
        client = connect(settings)
        stream = Keys(settings).stream
        client.xgroup_create(stream, "slow", id="0")
        client.xgroup_create(stream, "reader", id="0")
        got = client.xreadgroup("reader", "r1", {stream: ">"}, count=5)[0][1]
        client.xack(stream, "reader", *[entry_id for entry_id, _ in got[:3]])
        pids = set(worker.children())
        samples = scrape(url)
        with urllib.request.urlopen(f"{url}/healthz", timeout=30) as response:
            healthy = (response.status, json.loads(response.read()))
    finally:
        worker.stop()
    return {"samples": samples, "healthy": healthy, "pids": pids, "settings": settings}


def test_articles_by_stage_and_outcome(scraped):
    s = scraped["samples"]
    assert value(s, "newsworker_articles_delivered_total") == 12
    assert value(s, "newsworker_stage_articles_total", stage="clean", outcome="ok") == 12
    assert value(s, "newsworker_stage_articles_total", stage="clean", outcome="dead") == 3
    for stage in ("entities", "summarize", "deliver"):
        assert value(s, "newsworker_stage_articles_total", stage=stage, outcome="ok") == 12
    assert value(s, "newsworker_dead_letters_total", stage="clean", reason="empty") == 1
    assert value(s, "newsworker_dead_letters_total", stage="clean", reason="invalid_json") == 1
    assert value(s, "newsworker_dead_letters_total", stage="clean", reason="invalid_article") == 1


def test_latency_histograms_per_article(scraped):
    s = scraped["samples"]
    for stage in ("clean", "entities", "summarize", "deliver"):
        assert value(s, "newsworker_stage_seconds_count", stage=stage) == 12, stage
        assert value(s, "newsworker_stage_seconds_sum", stage=stage) > 0
    assert value(s, "newsworker_stage_seconds_sum", stage="entities") > value(
        s, "newsworker_stage_seconds_sum", stage="summarize"
    )
    assert value(s, "newsworker_submit_to_stream_seconds_count") == 12
    mean = value(s, "newsworker_submit_to_stream_seconds_sum") / 12
    assert 0 < mean < 120


def test_per_source_volume_and_empty_share(scraped):
    s = scraped["samples"]
    assert value(s, "newsworker_source_articles_total", source="site0.ru", outcome="ok") == 6
    assert value(s, "newsworker_source_articles_total", source="site1.ru", outcome="ok") == 6
    assert value(s, "newsworker_source_articles_total", source="site0.ru", outcome="empty") == 1
    assert value(s, "newsworker_source_articles_total", source="unknown", outcome="dead") == 2


def test_state_queues_streams_groups(scraped):
    s, settings = scraped["samples"], scraped["settings"]
    assert value(s, "newsworker_queue_messages", queue=settings.queue) == 0
    assert value(s, "newsworker_inflight_articles") == 0
    assert value(s, "newsworker_stream_entries", stream="articles") == 12
    assert value(s, "newsworker_stream_entries", stream="dead") == 3
    assert value(s, "newsworker_consumer_group_lag", stream="articles", group="slow") == 12
    assert value(s, "newsworker_consumer_group_pending", stream="articles", group="slow") == 0
    assert value(s, "newsworker_consumer_group_lag", stream="articles", group="reader") == 7
    assert value(s, "newsworker_consumer_group_pending", stream="articles", group="reader") == 2
    assert value(s, "newsworker_redis_memory_bytes") > 0
    assert value(s, "newsworker_sink_errors_total", sink="redis") == 0


def test_work_of_both_pool_processes_is_summed(scraped):
    assert len(scraped["pids"]) == 2  # the counts above add up over both


def test_health_endpoint(scraped):
    status, body = scraped["healthy"]
    assert status == 200 and body["ok"] is True
    assert set(body["checks"]) == {"broker", "redis", "sink:redis"}


def test_health_names_the_failing_sink(tmp_path):
    settings = Settings(sinks="redis,postgres", postgres_dsn="postgresql://u@127.0.0.1:1/x")
    ok, results = health.run(settings)
    assert not ok
    assert results["broker"]["ok"] and results["redis"]["ok"] and results["sink:redis"]["ok"]
    assert not results["sink:postgres"]["ok"] and "127.0.0.1" in results["sink:postgres"]["error"]
    down = Settings(redis_url="redis://127.0.0.1:1/0")
    ok, results = health.run(down)
    assert not ok and not results["redis"]["ok"] and not results["broker"]["ok"]


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("payload is 9000001 bytes, over the limit of 5000000", "payload_too_large"),
        ("empty after cleaning", "empty"),
        ("stage time limit exceeded (SoftTimeLimitExceeded())", "time_limit"),
        ("poison message: delivered 4 times without finishing", "poison"),
        ("postgres: connection refused", "sink_unavailable"),
        ("ZeroDivisionError: division by zero", "error"),
    ],
)
def test_reason_codes_are_few(reason, code):
    assert reason_code(reason) == code
    assert re.fullmatch(r"[a-z_]+", code)


def test_health_command():
    out = newsworker("health")
    assert out.returncode == 0, out.stdout + out.stderr
    assert json.loads(out.stdout)["checks"]["redis"]["ok"] is True
    dsn = "postgresql://u@127.0.0.1:1/x"
    down = {"NEWSWORKER_SINKS": "redis,postgres", "NEWSWORKER_POSTGRES_DSN": dsn}
    bad = newsworker("health", env=down)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["checks"]["sink:postgres"]["ok"] is False


def test_sink_errors_and_the_dead_letters_they_end_in(tmp_path):
    """A JSONL sink that cannot be written (its folder is a file): each failed write counts in
    newsworker_sink_errors_total; after the last retry the article is dead-lettered at deliver
    with reason sink_unavailable."""
    (tmp_path / "not-a-dir").write_text("")
    env = namespace(sinks="jsonl,redis", jsonl_path=tmp_path / "not-a-dir" / "out.jsonl",
                    max_retries=1)  # fmt: skip
    worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
    try:
        url = endpoint(worker)
        out = newsworker("submit", str(SAMPLE), "--wait", "--timeout", "120", env=env)
        assert json.loads(out.stdout)["dead"] == 1, out.stdout + worker.tail()
        s = scrape(url)
    finally:
        worker.stop()
    assert value(s, "newsworker_sink_errors_total", sink="jsonl") == 2  # the try and its retry
    assert value(s, "newsworker_sink_errors_total", sink="redis") == 0
    dead = value(s, "newsworker_dead_letters_total", stage="deliver", reason="sink_unavailable")
    assert dead == 1
    assert value(s, "newsworker_articles_delivered_total") == 0
