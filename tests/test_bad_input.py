"""Bad and odd input through the real worker: every payload ends processed or dead-lettered,
the worker survives, its memory stays bounded; pickled messages are refused."""

from __future__ import annotations

import builtins
import json
import time
from collections import Counter
from pathlib import Path

from conftest import Worker, namespace, newsworker, settings_overrides
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from config import Settings
from worker.delivery.ledger import Ledger
from worker.ingest import read_paths

MAX_PAYLOAD = 100_000

russian = st.text(
    alphabet=st.sampled_from(
        list("абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ .,!?«»—\n")
    ),
    max_size=600,
)
odd_text = (
    st.text(max_size=400) | russian | st.sampled_from(["", " ", "\n\n", "\u00ad\u200b\ufeff"])
)
tags = st.sampled_from(["div", "p", "span", "script", "style", "table", "td", "a", "article"])


@st.composite
def html_pages(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["soup", "deep", "attribute", "entities", "comment", "plain"]))
    body = draw(russian)
    if kind == "deep":
        depth = draw(st.integers(100, 5000))
        tag = draw(tags)
        return f"<html><body>{f'<{tag}>' * depth}{body}</body></html>"
    if kind == "attribute":
        size = draw(st.integers(1000, MAX_PAYLOAD // 2))
        return f'<html><body><p title="{"x" * size}">{body}</p></body></html>'
    if kind == "entities":  # "billion laughs": HTML parsers must not expand it
        laughs = '<!ENTITY a "ha">' + "".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)
        )
        return f"<!DOCTYPE html [{laughs}]><html><body><p>&i; {body}</p></body></html>"
    if kind == "comment":
        return f"<html><body><!-- {body} <p>{body}</p>"
    if kind == "plain":
        return body
    parts = draw(st.lists(st.tuples(tags, odd_text), max_size=20))
    return "<html><body>" + "".join(f"<{t}>{x}</{t}>" for t, x in parts) + "</body></html>"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | odd_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=250) | st.integers() | st.none(),
        "url": st.text(max_size=50) | st.none(),
        "title": odd_text | json_values,
        "published_at": st.sampled_from(["2017-05-02", "вчера", "", "2017-13-45"]) | json_values,
        "text": odd_text | json_values,
        "html": html_pages() | json_values,
        "source": odd_text,
    },
)


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, bytes]:
    """(file suffix, payload bytes)."""
    kind = draw(st.sampled_from(["json", "json-value", "bytes", "text", "html", "huge"]))
    if kind == "json":
        return ".json", json.dumps(draw(fields), ensure_ascii=draw(st.booleans())).encode()
    if kind == "json-value":
        return ".json", json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.sampled_from([".json", ".txt", ".html"])), draw(st.binary(max_size=300))
    if kind == "text":
        return ".txt", draw(odd_text).encode("utf-8", "surrogatepass")
    if kind == "huge":
        return ".txt", ("Слово " * (MAX_PAYLOAD // 10)).encode()
    return ".html", draw(html_pages()).encode("utf-8", "surrogatepass")


def _collect(n: int) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []

    @settings(max_examples=n, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(payloads())
    def collect(item: tuple[str, bytes]) -> None:
        found.append(item)

    while len(found) < n:
        collect()
    return found[:n]


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_two_thousand_odd_payloads_each_land_once(tmp_path):
    # the quality gate off: odd short texts are to be processed, not refused as too short
    env = namespace(max_payload_bytes=MAX_PAYLOAD, task_time_limit=60, min_text_chars=0)
    conf = Settings(**settings_overrides(env))
    folder = tmp_path / "payloads"
    folder.mkdir()
    for i, (suffix, payload) in enumerate(_collect(2000)):
        (folder / f"{i:05d}{suffix}").write_bytes(payload)
    worker = Worker(tmp_path / "w.log", concurrency=2, env=env).start()
    try:
        start_rss = max(_rss_mb(c) for c in worker.children())
        out = newsworker("submit", str(folder), "--wait", "--timeout", "900", env=env)
        assert out.returncode == 0, out.stderr + worker.tail()
        counts = json.loads(out.stdout)
        # A JSON array in a .json file is one submission per element.
        assert counts["submitted"] == len(list(read_paths([str(folder)]))) >= 2000
        assert counts["queued"] + counts["duplicates"] == counts["submitted"]
        assert counts["processed"] + counts["dead"] == counts["queued"]
        assert counts["pending"] == 0
        assert counts["processed"] > 100 and counts["dead"] > 100, counts
        # The worker is alive, its processes' memory bounded, and it still does good work.
        assert worker.proc.poll() is None
        end_rss = max(_rss_mb(c) for c in worker.children())
        assert end_rss < 1200, (start_rss, end_rss)
        good = tmp_path / "good.json"
        good.write_text(json.dumps({"id": "after-fuzz", "text": "Путин прилетел в Сочи. " * 5}))
        after = newsworker("submit", str(good), "--wait", "--timeout", "120", env=env)
        assert json.loads(after.stdout)["processed"] == 1
    finally:
        worker.stop()
    dead = list(Ledger(conf).dead_entries())
    assert len(dead) == counts["dead"]
    assert all(d.reason and d.stage for d in dead)
    reasons = Counter(d.reason.split(":")[0] for d in dead)
    assert len(reasons) >= 4, reasons
    assert any("over the limit" in d.reason for d in dead)


def test_pickled_message_is_refused_and_the_worker_goes_on(tmp_path, running_worker, settings):
    from worker.celery_app import app

    marker = tmp_path / "pickle-ran"

    class Bomb:
        def __reduce__(self):  # unpickling this would create the marker file
            return (builtins.open, (str(marker), "w"))

    app.send_task("newsworker.clean", args=[Bomb()], serializer="pickle", queue=settings.queue)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"id": "after-pickle", "text": "Путин прилетел в Сочи. " * 5}))
    out = newsworker("submit", str(good), "--wait", "--timeout", "120")
    assert json.loads(out.stdout)["processed"] == 1, out.stdout + running_worker.tail()
    for _ in range(20):
        if "untrusted content" in running_worker.log.read_text(errors="replace"):
            break
        time.sleep(0.25)
    assert "untrusted content" in running_worker.log.read_text(errors="replace")
    assert not marker.exists()
    assert running_worker.proc.poll() is None
