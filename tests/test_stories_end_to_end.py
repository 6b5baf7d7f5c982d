"""Reprints and stories through the real chain: two Celery workers, every sink."""

from __future__ import annotations

import json
import threading
from collections import Counter

from conftest import SAMPLE, Worker, json_lines, namespace, newsworker, settings_overrides
from test_delivery import postgres_ids, stream_ids

from config import Settings
from worker.schema import SCHEMA_VERSION


def test_one_article_through_two_sources_at_once_is_one_story(tmp_path):
    env = namespace(
        sinks="redis,postgres,jsonl",
        jsonl_path=tmp_path / "out.jsonl",
        batch_size=1,
        prefetch=1,
    )
    settings = Settings(**settings_overrides(env))
    text = SAMPLE.read_text(encoding="utf-8")
    files = {}
    for article_id, source in (("wire-tass", "tass.ru"), ("wire-copy", "copy.example")):
        files[article_id] = tmp_path / f"{article_id}.json"
        files[article_id].write_text(
            json.dumps({"id": article_id, "source": source, "text": text}, ensure_ascii=False)
        )
    workers = [Worker(tmp_path / f"w{i}.log", concurrency=1, env=env).start() for i in range(2)]
    try:
        # Submitted at the same moment, each a chain of its own: the two workers take one each.
        outs: dict[str, dict] = {}
        barrier = threading.Barrier(len(files))

        def submit(article_id: str) -> None:
            barrier.wait()
            out = newsworker("submit", str(files[article_id]), "--wait", env=env)
            outs[article_id] = json.loads(out.stdout)

        threads = [threading.Thread(target=submit, args=(i,)) for i in files]
        for t in threads:
            t.start()
        for t in threads:
            t.join(300)
        assert all(o["processed"] == 1 for o in outs.values()), outs
        records = {r["id"]: r for r in json_lines(newsworker("consume", env=env).stdout)}
        assert set(records) == set(files)
        first, copy = sorted(records.values(), key=lambda r: r["duplicate_of"] is not None)
        assert first["duplicate_of"] is None
        assert copy["duplicate_of"] == first["id"]
        assert first["story"]["id"] == copy["story"]["id"]
        assert first["story"]["first_id"] == first["id"]
        assert (first["story"]["size"], copy["story"]["size"]) == (1, 2)
        assert {r["schema_version"] for r in records.values()} == {SCHEMA_VERSION}

        listed = json_lines(newsworker("story", first["story"]["id"], env=env).stdout)
        assert [a["id"] for a in listed] == [first["id"], copy["id"]]
        assert listed[1]["duplicate_of"] == first["id"]
        [story] = [
            s
            for s in json_lines(newsworker("stories", env=env).stdout)
            if s["id"] == first["story"]["id"]
        ]
        assert story["size"] == 2 and story["first_id"] == first["id"]

        # --force: processed and delivered again, but it neither links to itself nor joins
        # its story a second time.
        again = newsworker("submit", str(files[copy["id"]]), "--force", "--wait", env=env)
        assert json.loads(again.stdout)["processed"] == 1, again.stdout
        [forced] = json_lines(newsworker("consume", env=env).stdout)
        assert forced["duplicate_of"] == first["id"]
        assert forced["story"]["id"] == first["story"]["id"] and forced["story"]["size"] == 2
        listed = json_lines(newsworker("story", first["story"]["id"], env=env).stdout)
        assert len(listed) == 2
    finally:
        for w in workers:
            w.stop()
    # Each record once in every sink (the --force'd one once more, as documented).
    expected = Counter({"wire-tass": 1, "wire-copy": 2})
    assert stream_ids(settings) == expected
    lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
    assert Counter(json.loads(line)["id"] for line in lines) == expected
    assert postgres_ids(settings) == Counter({"wire-tass": 1, "wire-copy": 1})  # upserted
