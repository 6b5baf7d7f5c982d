"""Reprints and stories: the grouping functions over the real Redis index (no Celery)."""

from __future__ import annotations

import json
import multiprocessing
import time
import uuid

import pytest

from tests.conftest import SHARED
from worker.delivery.ledger import connect
from worker.nlp import load_nlp
from worker.stories import similarity
from worker.stories.group import Item, group, group_many, group_signature
from worker.stories.index import StoryIndex
from worker.stories.signatures import signature

PAIRS = SHARED / "eval" / "dedup" / "ru_story_pairs_dev.jsonl"
WINDOW = 72 * 3600
COMPACT = {b"listpack", b"ziplist"}  # (ziplist: the name before Redis 7)


@pytest.fixture
def index(settings):
    client = connect(settings)
    prefix = f"{settings.key_prefix}-{uuid.uuid4().hex[:8]}:grp"
    yield StoryIndex(client, prefix, WINDOW)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


def _pairs(label: str, reprint: bool | None = None) -> list[dict]:
    with open(PAIRS, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    rows = [r for r in rows if r["label"] == label]
    if reprint is not None:
        rows = [r for r in rows if (r["derived"]["sh4_containment"] >= 0.5) == reprint]
    return rows


def _article(side: dict) -> dict:
    return {"title": side["title"], "text": side["text"], "dictionary": load_nlp().dictionary}


def test_reprints_share_most_shingles_and_different_articles_do_not():
    for pair in _pairs("same_story", reprint=True):
        a, b = (
            signature(p["title"], p["text"], dictionary=load_nlp().dictionary)
            for p in (pair["a"], pair["b"])
        )
        assert similarity.containment(a.minhash, a.shingles, b.minhash, b.shingles) >= 0.5
    for pair in _pairs("different"):
        a, b = (
            signature(p["title"], p["text"], dictionary=load_nlp().dictionary)
            for p in (pair["a"], pair["b"])
        )
        assert similarity.containment(a.minhash, a.shingles, b.minhash, b.shingles) < 0.5


def test_a_reprint_links_to_the_first_and_joins_its_story(index):
    pair = _pairs("same_story", reprint=True)[0]
    now = time.time()
    first = group(index, "first", **_article(pair["a"]), source="tass.ru", now=now)
    second = group(index, "second", **_article(pair["b"]), source="site.ru", now=now + 1)
    assert first.duplicate_of is None
    assert first.story.first_id == "first" and first.story.size == 1
    assert second.duplicate_of == "first"
    assert second.story.id == first.story.id
    assert (second.story.first_id, second.story.first_source, second.story.size) == (
        "first",
        "tass.ru",
        2,
    )
    assert [m for m, _ in index.members(first.story.id)] == ["first", "second"]


def test_a_different_article_is_neither_a_reprint_nor_in_the_story(index):
    pair = _pairs("different")[0]
    now = time.time()
    a = group(index, "a", **_article(pair["a"]), now=now)
    b = group(index, "b", **_article(pair["b"]), now=now + 1)
    assert b.duplicate_of is None
    assert b.story.id != a.story.id and b.story.size == 1


def test_grouping_again_links_nothing_new(index):
    """A redelivered or --force'd article gets its first grouping: it does not link to itself
    nor join its story twice."""
    pair = _pairs("same_story", reprint=True)[1]
    now = time.time()
    first = group(index, "x", **_article(pair["a"]), now=now)
    again = group(index, "x", **_article(pair["a"]), now=now + 5)
    assert again.duplicate_of is None
    assert again.story.id == first.story.id and again.story.size == 1
    copy = group(index, "y", **_article(pair["b"]), now=now + 6)
    copy_again = group(index, "y", **_article(pair["b"]), now=now + 7)
    assert copy.duplicate_of == copy_again.duplicate_of == "x"
    assert copy_again.story.size == 2
    assert [m for m, _ in index.members(first.story.id)] == ["x", "y"]


def test_a_batch_is_grouped_as_one_article_after_the_other(index):
    """group_many: a reprint and its original in one batch are linked, an article twice in
    the batch and the batch grouped again join nothing twice; the look-ups stay in small
    listpack-encoded hashes."""
    dictionary = load_nlp().dictionary
    reprint = _pairs("same_story", reprint=True)[5]
    other = _pairs("different")[1]
    sides = [reprint["a"], other["a"], reprint["b"], reprint["a"]]
    ids = ["orig", "other", "copy", "orig"]
    items = [
        Item(i, signature(s["title"], s["text"], dictionary=dictionary), s["title"])
        for i, s in zip(ids, sides)
    ]
    now = time.time()
    orig, other_g, copy, orig_again = group_many(index, items, now=now)
    assert orig.duplicate_of is None and copy.duplicate_of == "orig"
    assert copy.story.id == orig.story.id == orig_again.story.id
    assert orig_again.duplicate_of is None
    assert other_g.story.id != orig.story.id
    again = group_many(index, items, now=now + 5)
    assert [g.duplicate_of for g in again] == [None, None, "orig", None]
    assert [m for m, _ in index.members(orig.story.id)] == ["orig", "copy"]
    shards = [k for k in index.redis.scan_iter(f"{index.prefix}:*:[ilt]:*")]
    assert shards and {index.redis.object("encoding", k) for k in shards} <= COMPACT


def test_shards_split_and_every_article_is_still_found(index):
    """Linear hashing: past LOAD fields a shard, shards split; every article indexed before
    and after the splits is found by its id and by its LSH bands, and no shard leaves the
    listpack encoding."""
    import numpy as np

    from worker.stories.bench import _fill, _synthetic
    from worker.stories.index import Ask

    now = time.time()
    _fill(index, 0, 400, now, np.random.default_rng(1))
    levels = [int(index.redis.hget(k, "lL")) for k in index.redis.scan_iter(f"{index.prefix}:*:lh")]
    assert max(levels) >= 3  # the bands' shards split: 8 or more of them in a bucket
    shards = list(index.redis.scan_iter(f"{index.prefix}:*:[ilt]:*"))
    assert {index.redis.object("encoding", k) for k in shards} <= COMPACT
    for i in range(0, 400, 7):
        entry = index.entry(f"syn-{i}", now)
        assert entry is not None and entry.id == f"syn-{i}"
    rng = np.random.default_rng(1)  # the same draws as the fill's
    sigs = []
    for _ in range(400):
        sigs.append(_synthetic(rng))
        rng.random()
    for i in range(3, 400, 50):
        found = index.query([Ask("nobody", sigs[i].bands, {})], now).found[0]
        assert [c.id for c in found.candidates] == [f"syn-{i}"]
    probe = _synthetic(np.random.default_rng(2))
    assert index.query([Ask("nobody", probe.bands, {})], now).found[0].candidates == []


def test_entries_leave_with_the_window(settings):
    client = connect(settings)
    prefix = f"{settings.key_prefix}-{uuid.uuid4().hex[:8]}:grp"
    window = 600
    index = StoryIndex(client, prefix, window)
    pair = _pairs("same_story", reprint=True)[2]
    now = time.time()
    try:
        first = group(index, "old", **_article(pair["a"]), now=now)
        late = group(index, "late", **_article(pair["b"]), now=now + window + 1)
        assert late.duplicate_of is None and late.story.id != first.story.id
        # Every key but the counter and the list of stories (trimmed to the window) expires;
        # the late article's a window and a bucket from now, at the latest.
        keys = {k.decode() for k in client.scan_iter(f"{prefix}:*")}
        assert {f"{prefix}:seq", f"{prefix}:stories"} <= keys
        ttls = [client.ttl(k) for k in keys - {f"{prefix}:seq", f"{prefix}:stories"}]
        assert ttls and all(0 < t <= window + window / 6 + window + 2 for t in ttls)
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def _race(url: str, prefix: str, article_id: str, sig, barrier, now: float, out) -> None:
    import redis

    index = StoryIndex(redis.Redis.from_url(url), prefix, WINDOW)
    barrier.wait()
    g = group_signature(index, article_id, sig, now=now)
    out.put((article_id, g.duplicate_of, g.story.id, g.story.size))


def test_reprints_grouped_at_the_same_instant_by_several_workers_are_linked(settings):
    """Processes released together by a barrier: each queries before any commits, so without
    the atomic commit each would found a story of its own."""
    client = connect(settings)
    prefix = f"{settings.key_prefix}-{uuid.uuid4().hex[:8]}:grp"
    pair = _pairs("same_story", reprint=True)[3]
    texts = [pair["a"], pair["b"], pair["a"], pair["b"]]
    sigs = [signature(t["title"], t["text"], dictionary=load_nlp().dictionary) for t in texts]
    ctx = multiprocessing.get_context("fork")
    barrier, out = ctx.Barrier(len(sigs)), ctx.Queue()
    now = time.time()
    url = settings.effective_redis_url
    procs = [
        ctx.Process(target=_race, args=(url, prefix, f"r{i}", sig, barrier, now, out))
        for i, sig in enumerate(sigs)
    ]
    try:
        for p in procs:
            p.start()
        results = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(30)
        stories = {story for _, _, story, _ in results}
        assert len(stories) == 1
        roots = [aid for aid, dup, _, _ in results if dup is None]
        assert len(roots) == 1
        assert all(dup == roots[0] for aid, dup, _, _ in results if aid != roots[0])
        assert sorted(size for *_, size in results) == [1, 2, 3, 4]
        assert len(StoryIndex(client, prefix, WINDOW).members(stories.pop())) == 4
    finally:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)


def test_recent_stories_list_the_first_article(index):
    pair = _pairs("same_story", reprint=True)[4]
    now = time.time()
    group(index, "p1", **_article(pair["a"]), source="ria.ru", now=now)
    group(index, "p2", **_article(pair["b"]), source="lenta.ru", now=now + 1)
    [story] = index.recent(10, now=now + 2)
    assert story["size"] == 2 and story["first_source"] == "ria.ru"
    assert story["first_title"] == pair["a"]["title"]


def test_on_the_dev_pairs_grouping_beats_the_tfidf_baseline(settings):
    """The evaluation's own run: our stream of the dev file against the baseline beside it."""
    from worker.evaluate.stories import evaluate

    result = evaluate(PAIRS, settings, progress=False)
    assert result["stream"]["f1"] > result["baseline_tfidf"]["f1"]
    assert result["duplicate_of"]["recall"] == 1.0
