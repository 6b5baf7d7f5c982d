"""Retention: streams trimmed by age and length but never past an entry a consumer group has
not read or acknowledged; records and state expire NEWSWORKER_RECORD_TTL after landing."""

from __future__ import annotations

import json
import time

import pytest
from conftest import (
    DEV_CLEAN,
    SAMPLE,
    Worker,
    json_lines,
    namespace,
    newsworker,
    settings_overrides,
)

from config import Settings
from worker.delivery.ledger import Keys, connect
from worker.ingest import derive_id
from worker.ops import retention


@pytest.fixture
def stream(settings):
    """100 entries two hours old (explicit ids), on a stream of this test's own."""
    client = connect(settings)
    key = f"{settings.key_prefix}:retention-test:{time.monotonic_ns()}"
    start = int((time.time() - 7200) * 1000)
    ids = [f"{start + i}-0" for i in range(100)]
    for entry_id in ids:
        client.xadd(key, {"id": entry_id}, id=entry_id)
    yield client, key, ids
    client.delete(key)


def _first(client, key) -> str:
    return client.xrange(key, count=1)[0][0].decode()


def test_trim_by_age_stops_at_the_oldest_unacknowledged_entry(stream):
    client, key, ids = stream
    client.xgroup_create(key, "slow", id="0")
    client.xgroup_create(key, "fast", id="0")
    read = client.xreadgroup("slow", "c", {key: ">"}, count=30)[0][1]
    client.xack(key, "slow", *[i for i, _ in read[:20]])  # 10 given, not acknowledged
    fast = client.xreadgroup("fast", "c", {key: ">"}, count=100)[0][1]
    client.xack(key, "fast", *[i for i, _ in fast])

    done = retention.trim(client, key, max_age=3600)  # all 100 are older than that
    assert done.held_back_by_groups and done.removed == 20
    assert client.xlen(key) == 80 and _first(client, key) == ids[20]

    client.xack(key, "slow", *[i for i, _ in read[20:]])  # now it read 30, acknowledged 30
    retention.trim(client, key, max_age=3600)
    assert client.xlen(key) == 70 and _first(client, key) == ids[30]

    client.xgroup_destroy(key, "slow")
    done = retention.trim(client, key, max_age=3600)
    assert client.xlen(key) == 0 and not done.held_back_by_groups


def test_trim_by_length_keeps_what_a_group_has_not_been_given(stream):
    client, key, ids = stream
    client.xgroup_create(key, "lagging", id="0")
    given = client.xreadgroup("lagging", "c", {key: ">"}, count=50)[0][1]
    client.xack(key, "lagging", *[i for i, _ in given])
    retention.trim(client, key, maxlen=40)  # would keep the newest 40: 60 onwards
    assert client.xlen(key) == 50 and _first(client, key) == ids[50]
    client.xgroup_destroy(key, "lagging")
    retention.trim(client, key, maxlen=40)
    assert client.xlen(key) == 40 and _first(client, key) == ids[60]


def test_no_bound_trims_nothing(stream):
    client, key, _ = stream
    assert retention.trim(client, key).removed == 0
    assert client.xlen(key) == 100


def test_worker_expires_records_and_trims_once_groups_have_read(tmp_path):
    env = namespace(record_ttl=300, visibility_timeout=30, task_time_limit=20,
                    retention_interval=1, stream_max_age=1)  # fmt: skip
    settings = Settings(**settings_overrides(env))
    client = connect(settings)
    stream = Keys(settings).stream
    client.xgroup_create(stream, "reader", id="0", mkstream=True)
    worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
    try:
        out = newsworker("submit", str(SAMPLE), "--wait", "--timeout", "120", env=env)
        assert json.loads(out.stdout)["processed"] == 1, out.stderr + worker.tail()
        aid = derive_id(SAMPLE.read_bytes(), "text")
        keys = Keys(settings)
        for key in (keys.record(aid), keys.delivered(aid), keys.state(aid)):
            assert 0 < client.ttl(key) <= 300, key
        time.sleep(4)  # several trims: the entry is older than 1 s, but "reader" has not read it
        assert client.xlen(stream) == 1
        [record] = json_lines(newsworker("consume", "--group", "reader", env=env).stdout)
        assert record["id"] == aid
        for _ in range(40):
            if client.xlen(stream) == 0:
                break
            time.sleep(0.25)
        assert client.xlen(stream) == 0, worker.tail()
    finally:
        worker.stop()
    assert '"stream_trimmed"' in worker.log.read_text()


def test_a_story_that_goes_on_keeps_only_its_members_of_the_window(settings):
    """A story joined again and again (here: the same text every 0.6 window) stays one window
    of members: its member set does not grow with its age (issue 18, the soak)."""
    from natasha import MorphVocab

    from worker.nlp import Dictionary
    from worker.stories.group import group
    from worker.stories.index import StoryIndex

    client = connect(settings)
    prefix = f"{settings.key_prefix}:story-retention-{time.monotonic_ns()}:grp"
    window = 600
    index = StoryIndex(client, prefix, window)
    page = json.loads(DEV_CLEAN.read_text(encoding="utf-8").splitlines()[0])
    article = {"title": page["gold_title"], "text": page["gold_text"][:2000],
               "dictionary": Dictionary(MorphVocab())}  # fmt: skip
    now = time.time()
    try:
        grouped = [group(index, f"a{i}", **article, now=now + i * 0.6 * window) for i in range(6)]
        [story] = {g.story.id for g in grouped}  # each joined the one before it
        assert grouped[-1].story.size == 6
        members = [m for m, _ in index.members(story)]
        assert members == ["a4", "a5"]  # a0..a3 joined more than a window before a5
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
