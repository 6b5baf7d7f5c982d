"""The stage tasks' policy, fast: a Celery worker in this process (``celery.contrib.testing``,
solo pool) on the real Redis, each test in a namespace (keys, queue) of its own. What needs a
process to die is in ``test_delivery.py`` (real worker subprocesses)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery.contrib.testing.worker import start_worker
from conftest import namespace, settings_overrides

from config import Settings
from worker import producer
from worker.celery_app import app
from worker.delivery import chain, policy
from worker.delivery.ledger import Ledger
from worker.delivery.protocol import Ref
from worker.ingest import Submission

TEXT = "Владимир Путин провёл в Сочи переговоры с президентом Турции. Встреча длилась час."


def article(i: int | str, text: str = TEXT) -> Submission:
    payload = json.dumps({"id": f"p-{i}", "text": text}, ensure_ascii=False).encode()
    return Submission(f"p-{i}", "json", payload, "test")


@contextmanager
def in_process_worker(settings: Settings) -> Iterator[None]:
    """A worker thread on ``settings``' queue, configured as a worker process is."""
    session = app.conf.newsworker_settings
    app.conf.newsworker_settings = settings  # what worker_init builds the runtime from
    try:
        with start_worker(app, pool="solo", queues=[settings.queue], perform_ping_check=False,
                          shutdown_timeout=60):  # fmt: skip
            yield
    finally:
        app.conf.newsworker_settings = session


@pytest.fixture(autouse=True, scope="module")
def _own_logging() -> Iterator[None]:
    """The worker sets up logging as a worker does (to this process's stderr); undo it."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level


def own(**overrides: object) -> Settings:
    return Settings(**settings_overrides(namespace(**overrides)))


def test_a_bad_article_is_dead_lettered_and_its_batch_goes_on():
    settings = own(batch_size=8)
    items = [article(0), Submission("p-bad", "json", b'{"text": 5}', "test"), article(2)]
    with in_process_worker(settings):
        done = producer.submit(items, settings)
        outcome = producer.wait(done.queued, settings, timeout=120)
    assert outcome == {"processed": 2, "dead": 1}
    [dead] = Ledger(settings).dead_entries()
    assert (dead.id, dead.stage, dead.payload) == ("p-bad", "clean", b'{"text": 5}')
    assert "text" in dead.reason


def _poisoned(settings: Settings, refs: list[Ref], task_id: str) -> None:
    """Publish the chain of ``refs`` as if its first message had already been delivered
    ``max_deliveries`` times, each killing its worker process."""
    ledger = Ledger(settings)
    ledger.admit([(ref, article(ref.id.removeprefix("p-")).payload) for ref in refs])
    c = chain.pipeline_chain(app, refs, settings.queue)
    c.tasks[0].set(task_id=task_id)
    ledger.redis.set(ledger.keys.deliveries(f"{task_id}:0"), settings.max_deliveries)
    c.apply_async()


def test_a_poison_message_of_one_article_is_dead_lettered():
    settings = own(max_deliveries=2)
    ref = Ref("p-poison", "json", "1")
    with in_process_worker(settings):
        _poisoned(settings, [ref], "poison-one")
        outcome = producer.wait({ref.id: "1"}, settings, timeout=60)
    assert outcome == {"dead": 1}
    [dead] = Ledger(settings).dead_entries()
    assert dead.reason == "poison message: delivered 3 times without finishing"
    assert json.loads(dead.payload)["id"] == "p-poison"


def test_a_poison_batch_is_split_and_its_articles_start_over_alone():
    settings = own(max_deliveries=2)
    refs = [Ref(f"p-s{i}", "json", "1") for i in range(3)]
    with in_process_worker(settings):
        _poisoned(settings, refs, "poison-batch")
        outcome = producer.wait({r.id: "1" for r in refs}, settings, timeout=120)
    # Each article's own chain is a fresh message: none of them is poison, all land.
    assert outcome == {"processed": 3}
    assert list(Ledger(settings).dead_entries()) == []


def test_an_unreachable_sink_is_retried_then_dead_lettered():
    settings = own(sinks="postgres", postgres_dsn="postgresql://nobody@127.0.0.1:1/none",
                   max_retries=1)  # fmt: skip
    with in_process_worker(settings):
        done = producer.submit([article("sink")], settings)
        outcome = producer.wait(done.queued, settings, timeout=120)
    assert outcome == {"dead": 1}
    [dead] = Ledger(settings).dead_entries()
    assert dead.stage == "deliver" and dead.reason.startswith("SinkUnavailable: postgres")


@pytest.mark.parametrize("visibility", [123, 600, 3600])
def test_a_retry_starts_before_the_sweeper_would_count_its_article_stalled(visibility):
    """The sweeper re-enqueues what made no task start for a visibility timeout; a delivery's
    retry starts after its failed run (at most the time limit) and its wait."""
    settings = Settings(visibility_timeout=visibility, max_retries=50)
    longest = max(policy.retry_delay(settings, n) for n in range(50) for _ in range(20))
    assert settings.task_time_limit + longest < visibility
    assert longest > 0.5  # it does wait (2 s doubling, jittered)


def _everywhere(settings: Settings, ids: set[str]) -> dict[str, set[str]]:
    """Which of ``ids`` each sink holds, and which are dead-lettered."""
    import psycopg

    from worker.delivery.ledger import Keys

    ledger = Ledger(settings)
    stream = {f[b"id"].decode() for _, f in ledger.redis.xrange(Keys(settings).stream)}
    path = settings.jsonl_path
    lines = path.read_text().splitlines() if path.exists() else []
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as conn:
        table = f"{settings.postgres_schema}.articles"  # the store's current rows
        exists = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0]
        rows = conn.execute(f"SELECT id FROM {table}").fetchall() if exists else []
    return {
        "redis": stream & ids,
        "jsonl": {json.loads(line)["id"] for line in lines} & ids,
        "postgres": {r[0] for r in rows} & ids,
        "dead": {d.id for d in ledger.dead_entries()} & ids,
    }


def test_what_a_sink_would_refuse_is_dead_lettered_before_anything_is_written(tmp_path):
    """PostgreSQL cannot store U+0000: such an article is dead-lettered and in no sink, even the
    ones that would have taken it; the rest of its batch is in every sink."""
    settings = own(sinks="redis,jsonl,postgres", jsonl_path=tmp_path / "out.jsonl", batch_size=8)
    bad_id = Submission("nul\x00id", "json", json.dumps({"text": TEXT}).encode(), "test")
    bad_url = Submission("nul-url", "json", json.dumps({"text": TEXT, "url": "http://x/\x00"})
                         .encode(), "test")  # fmt: skip
    items = [article(0), bad_id, bad_url, article(1)]
    with in_process_worker(settings):
        done = producer.submit(items, settings)
        outcome = producer.wait(done.queued, settings, timeout=120)
    assert outcome == {"processed": 2, "dead": 2}
    good, bad = {"p-0", "p-1"}, {"nul\x00id", "nul-url"}
    assert _everywhere(settings, good | bad) == {"redis": good, "jsonl": good, "postgres": good,
                                                 "dead": bad}  # fmt: skip
    reasons = {d.id: d for d in Ledger(settings).dead_entries()}
    assert all("U+0000" in reasons[i].reason and reasons[i].stage == "deliver" for i in bad)


def test_postgres_down_past_the_retries_leaves_nothing_in_the_other_sinks(tmp_path):
    settings = own(sinks="redis,jsonl,postgres", jsonl_path=tmp_path / "out.jsonl",
                   postgres_dsn="postgresql://nobody@127.0.0.1:1/none", max_retries=1)  # fmt: skip
    with in_process_worker(settings):
        done = producer.submit([article("pg-down")], settings)
        assert producer.wait(done.queued, settings, timeout=120) == {"dead": 1}
    where = {"p-pg-down"}
    assert _everywhere(settings.model_copy(update={"postgres_dsn": own().postgres_dsn}), where) == {
        "redis": set(), "jsonl": set(), "postgres": set(), "dead": where}  # fmt: skip


def test_a_sink_failing_after_postgres_wrote_has_postgres_take_it_back(tmp_path):
    """The JSONL file cannot be written (its folder is a file): after the retries the article is
    dead-lettered, and the row PostgreSQL stored first is deleted again."""
    (tmp_path / "not-a-folder").write_text("")
    settings = own(sinks="postgres,jsonl", jsonl_path=tmp_path / "not-a-folder" / "out.jsonl",
                   max_retries=1)  # fmt: skip
    with in_process_worker(settings):
        done = producer.submit([article("jsonl-down")], settings)
        assert producer.wait(done.queued, settings, timeout=120) == {"dead": 1}
    where = {"p-jsonl-down"}
    assert _everywhere(settings, where) == {"redis": set(), "jsonl": set(), "postgres": set(),
                                            "dead": where}  # fmt: skip
    [dead] = Ledger(settings).dead_entries()
    assert dead.reason.startswith("SinkUnavailable: jsonl")
