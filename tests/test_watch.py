"""`newsworker watch` end to end: a real HTTP server on loopback serving feeds, news sitemaps,
a sitemap index and the dev pages; real fetch and NLP workers; the real Redis."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timezone
from email.utils import format_datetime

import pytest
from conftest import BIN, SAMPLE, FetchWorker, Worker, namespace, newsworker, settings_overrides
from webserver import WebServer

from config import Settings
from worker.celery_app import app as celery_app
from worker.delivery.ledger import Ledger
from worker.delivery.protocol import broker_lists
from worker.fetch.pending import Pending

N_FEED_PAGES = 20  # distinct articles behind the 20 feeds × 50 items (each in 5 spellings)
N_SITEMAP_PAGES = 16  # 8 in each news sitemap


def _variants(web: WebServer, n: int, k: int) -> str:
    """One of the spellings of page n's URL (they are all one article)."""
    url = web.url(f"/news/{n}.html", host="localhost")
    return [
        url,
        url + f"?utm_source=feed&utm_medium=rss&utm_campaign={k}",
        url.replace("//localhost", "//m.localhost"),  # the mobile site: fetched as the main one
        url + "?fbclid=abc&from=rss",
        url + "#comments",
    ][k % 5]


def _rss(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<item><title>{t}</title><link>{u.replace('&', '&amp;')}</link>"
        f"<pubDate>{format_datetime(datetime(2012, 1, 1, tzinfo=timezone.utc))}</pubDate></item>"
        for u, t in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>{body}</channel></rss>'
    )


def _atom(items: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<entry><title>{t}</title><link href="{u.replace("&", "&amp;")}"/><id>{u}</id>'
        "<updated>2012-01-01T00:00:00Z</updated></entry>"
        for u, t in items
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>f</title>{body}</feed>'


def _json_feed(items: list[tuple[str, str]]) -> str:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "f",
         "items": [{"id": u, "url": u, "title": t} for u, t in items]}
    )  # fmt: skip


def _news_sitemap(urls: list[str]) -> str:
    body = "".join(
        f"<url><loc>{u}</loc><news:news><news:publication><news:name>S</news:name>"
        "<news:language>ru</news:language></news:publication>"
        "<news:publication_date>2012-01-01</news:publication_date>"
        f"<news:title>t</news:title></news:news></url>"
        for u in urls
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + body + "</urlset>"
    )


def serve_site(web: WebServer, dev_pages: list[dict]) -> dict:
    """Pages, 20 feeds of 50 items, two news sitemaps and an index; the sources file's text."""
    web.route("/robots.txt", "User-agent: *\nDisallow: /private/\n")
    pages = dev_pages[: N_FEED_PAGES + N_SITEMAP_PAGES]
    for n, page in enumerate(pages):
        # The dev pages' own rel=canonical (59 of them have one) name their original sites.
        web.route(f"/news/{n}.html", page["html"], Content_Type="text/html; charset=utf-8")
    sources = []
    makers = [(_rss, "application/rss+xml"), (_atom, "application/atom+xml"),
              (_json_feed, "application/feed+json")]  # fmt: skip
    counter = itertools.count()
    for f in range(20):
        make, ctype = makers[f % 3]
        items = []
        for _ in range(50):
            k = next(counter)
            items.append((_variants(web, k % N_FEED_PAGES, k // N_FEED_PAGES), f"item {k}"))
        web.route(f"/feeds/{f}", make(items), Content_Type=ctype)
        sources.append(("feed " if f % 2 else "") + web.url(f"/feeds/{f}"))
    for s in range(2):
        urls = [web.url(f"/news/{N_FEED_PAGES + s * 8 + i}.html") for i in range(8)]
        web.route(f"/sitemaps/news-{s}.xml", _news_sitemap(urls), Content_Type="application/xml")
    index = "".join(
        f"<sitemap><loc>{web.url(f'/sitemaps/news-{s}.xml')}</loc></sitemap>" for s in range(2)
    )
    web.route(
        "/sitemap-index.xml",
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{index}</sitemapindex>',
        Content_Type="application/xml",
    )
    sources.append("sitemap " + web.url("/sitemap-index.xml"))
    return {"sources": "\n".join(sources) + "\n", "pages": len(pages)}


def records(settings: Settings) -> list[dict]:
    ledger = Ledger(settings)
    entries = ledger.redis.xrange(ledger.keys.stream)
    return [json.loads(fields[b"record"]) for _, fields in entries]


def wait_records(settings: Settings, n: int, timeout: float, *workers) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        got = records(settings)
        if len(got) >= n or time.monotonic() > deadline:
            return got
        for w in workers:
            assert w.proc.poll() is None, w.tail()
        time.sleep(1)


def dead(settings: Settings) -> list:
    return list(Ledger(settings).dead_entries())


FAST = dict(
    host_rate=50, host_concurrency=8, fetch_timeout=2, fetch_max_bytes=2_000_000,
    fetch_retries=1, fetch_retry_delay=0.2, watch_interval=3600, batch_size=4,
    task_time_limit=15, visibility_timeout=20,
)  # fmt: skip


@pytest.fixture
def site(dev_pages):
    with WebServer() as web:
        yield web, serve_site(web, dev_pages)


def test_watch_takes_every_distinct_article_once_and_a_second_poll_nothing(tmp_path, site):
    web, made = site
    env = namespace(**FAST)
    settings = Settings(**settings_overrides(env))
    (tmp_path / "sources.txt").write_text(made["sources"])
    fetcher = FetchWorker(tmp_path / "fetch.log", threads=4, env=env).start()
    nlp = Worker(tmp_path / "nlp.log", concurrency=2, env=env).start()
    try:
        first = newsworker("watch", str(tmp_path / "sources.txt"), "--once", env=env)
        assert first.returncode == 0, first.stderr
        counts = json.loads(first.stdout)
        assert counts["polled"] == 20 + 1 + 2  # the feeds, the index, its two sitemaps
        assert counts["items"] == 20 * 50 + 16
        assert counts["queued"] == made["pages"]  # variants of one article queued once
        got = wait_records(settings, made["pages"], 400, fetcher, nlp)
        time.sleep(3)  # anything more that would come
        got = records(settings)
        ids = Counter(r["id"] for r in got)
        assert len(got) == made["pages"] and set(ids.values()) == {1}, ids
        fetched = {r["url"] for r in got}
        assert fetched == {
            web.url(f"/news/{n}.html", host="localhost" if n < N_FEED_PAGES else "127.0.0.1")
            for n in range(made["pages"])
        }
        assert all(r["canonical_url"] for r in got)
        assert not dead(settings)
        hits = len(web.log)
        second = newsworker("watch", str(tmp_path / "sources.txt"), "--once", env=env)
        again = json.loads(second.stdout)
        assert again["not_modified"] == again["polled"] == 23 and not again.get("queued")
        assert len(web.log) - hits == 23  # no page fetched again
        time.sleep(2)
        assert len(records(settings)) == made["pages"]
    finally:
        fetcher.stop()
        nlp.stop()


def test_kill_9_of_watch_and_a_fetch_worker_loses_and_duplicates_nothing(tmp_path, site):
    web, made = site
    env = namespace(**{**FAST, "host_rate": 10})
    settings = Settings(**settings_overrides(env))
    (tmp_path / "sources.txt").write_text(made["sources"])
    nlp = Worker(tmp_path / "nlp.log", concurrency=2, env=env).start()
    fetcher = FetchWorker(tmp_path / "fetch1.log", threads=4, env=env).start()
    watch_cmd = [str(BIN / "newsworker"), "watch", str(tmp_path / "sources.txt")]
    watch = subprocess.Popen(watch_cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len([p for _, _, p in web.log if p.startswith("/news/")]) < 8:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(watch.pid, signal.SIGKILL)
        os.killpg(fetcher.proc.pid, signal.SIGKILL)
        watch.wait()
        fetcher.proc.wait()
        assert len(records(settings)) < made["pages"]  # killed with work left
        fetcher = FetchWorker(tmp_path / "fetch2.log", threads=4, env=env).start()
        watch = subprocess.Popen(watch_cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        got = wait_records(settings, made["pages"], 400, fetcher, nlp)
        time.sleep(5)
        got = records(settings)
    finally:
        watch.send_signal(signal.SIGTERM)
        watch.wait(30)
        fetcher.stop()
        nlp.stop()
    ids = Counter(r["id"] for r in got)
    assert len(ids) == made["pages"] and set(ids.values()) == {1}, ids
    assert not dead(settings)


def test_faults_end_as_dead_letters_and_the_workers_stay_up(tmp_path, dev_pages):
    env = namespace(**FAST)
    settings = Settings(**settings_overrides(env))
    cp1251 = dev_pages[0]["html"]
    cp1251 = cp1251.replace("charset=utf-8", "").replace('charset="utf-8"', "")
    with WebServer() as web:
        web.add_faults()
        web.route("/robots.txt", "User-agent: *\nDisallow: /private/\n")
        web.route("/error", "boom", status=500)
        web.route("/busy", "later", status=503, Retry_After="1")
        web.route("/bad-feed", '<?xml version="1.0"?><rss><channel><item><title>x</ti',
                  Content_Type="application/rss+xml")  # fmt: skip
        web.route("/html-feed", "<!DOCTYPE html><html><body>no feed</body></html>",
                  Content_Type="text/html")  # fmt: skip
        web.route("/cp1251", cp1251.encode("cp1251", "replace"), Content_Type="text/html")
        web.route("/private/x", "secret", Content_Type="text/html")
        pages = {
            "/missing": "HTTP 404", "/error": "HTTP 500", "/busy": "HTTP 503",
            "/never-ends": "timeout after 2 s", "/loop-a": "redirect loop",
            "/big": "body over 2 MB", "/bomb": "body over 2 MB",
            "/private/x": "robots.txt disallows",
        }  # fmt: skip
        lines = [f"page {web.url(p)}" for p in [*pages, "/cp1251"]]
        lines += [f"feed {web.url('/bad-feed')}", f"feed {web.url('/html-feed')}"]
        (tmp_path / "sources.txt").write_text("\n".join(lines) + "\n")
        fetcher = FetchWorker(tmp_path / "fetch.log", threads=4, env=env).start()
        nlp = Worker(tmp_path / "nlp.log", concurrency=1, env=env).start()
        try:
            out = newsworker("watch", str(tmp_path / "sources.txt"), "--once", env=env)
            assert json.loads(out.stdout)["failed"] == 2
            deadline = time.monotonic() + 120
            while len(dead(settings)) < len(pages) + 2 and time.monotonic() < deadline:
                time.sleep(0.5)
            letters = {json.loads(e.payload)["url"]: e for e in dead(settings)}
            for path, reason in pages.items():
                entry = letters[web.url(path)]
                assert entry.stage == "fetch" and entry.reason.startswith(reason), entry.reason
                assert web.url(path) in entry.reason
            assert letters[web.url("/bad-feed")].reason.startswith("invalid feed XML")
            assert letters[web.url("/html-feed")].reason.startswith("not a feed")
            assert web.hits("/busy") == 2 and web.hits("/error") == 2  # one retry each
            assert web.hits("/missing") == 1  # no retry where the status says it is useless
            [page] = wait_records(settings, 1, 120, fetcher, nlp)
            assert page["url"] == web.url("/cp1251")
            assert page["text"][:60] in dev_pages[0]["gold_text"]  # decoded right
            assert fetcher.proc.poll() is None and nlp.proc.poll() is None
            # A URL that failed is fetched again by retry-dead.
            again = newsworker("retry-dead", "--stage", "fetch", env=env)
            assert json.loads(again.stdout) == {"retried": len(pages)}, again.stderr
            deadline = time.monotonic() + 60
            while web.hits("/missing") < 2:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        finally:
            fetcher.stop()
            nlp.stop()


def test_the_per_host_limit_holds_with_four_threads(tmp_path, dev_pages):
    env = namespace(**{**FAST, "host_rate": 2, "host_concurrency": 2})
    with WebServer() as web:
        for n in range(12):
            web.route(f"/p/{n}.html", dev_pages[n]["html"], Content_Type="text/html")
        lines = [f"page {web.url(f'/p/{n}.html', host=h)}" for n in range(6)
                 for h in ("127.0.0.1", "localhost")]  # fmt: skip
        lines += [f"page {web.url(f'/p/{n}.html')}" for n in range(6, 12)]
        (tmp_path / "sources.txt").write_text("\n".join(lines) + "\n")
        fetcher = FetchWorker(tmp_path / "fetch.log", threads=4, env=env).start()
        try:
            newsworker("watch", str(tmp_path / "sources.txt"), "--once", env=env)
            deadline = time.monotonic() + 60
            while len([p for _, _, p in web.log if p.startswith("/p/")]) < 12:
                assert time.monotonic() < deadline, fetcher.tail()
                time.sleep(0.2)
        finally:
            fetcher.stop()
        by_host: dict[str, list[float]] = {}
        for t, host, _ in web.log:
            by_host.setdefault(host.split(":")[0], []).append(t)
        assert set(by_host) == {"127.0.0.1", "localhost"}
        for host, times in by_host.items():
            times.sort()
            # At most 2 request starts in any second (0.9 s: 50 ms of slack for a loaded
            # machine's scheduling between the limiter's slot and the server's clock).
            for i, t in enumerate(times):
                assert sum(1 for u in times[i:] if u < t + 0.9) <= 2, (host, times)


def test_the_three_variants_of_the_seed_sample_are_one_article(tmp_path):
    env = namespace()
    text = SAMPLE.read_text(encoding="utf-8")
    url = "https://www.gazeta.ru/politics/2017/11/14_a_11000000.shtml"
    variants = [url, url + "?utm_source=telegram&utm_medium=social",
                url.replace("www.", "m.")]  # fmt: skip
    batch = tmp_path / "variants.jsonl"
    batch.write_text("".join(json.dumps({"url": u, "text": text}) + "\n" for u in variants))
    out = newsworker("submit", str(batch), env=env)
    assert json.loads(out.stdout) == {"submitted": 3, "queued": 1, "duplicates": 2}


def test_a_fetch_whose_message_was_lost_is_sent_again(tmp_path, dev_pages):
    """A fetch noted as pending whose message is gone (a worker killed between kombu's pop
    and its unacked record) is sent again by the sweeper, once, and fetched once."""
    env = namespace(**{**FAST, "visibility_timeout": 8, "task_time_limit": 6})
    settings = Settings(**settings_overrides(env))
    ledger = Ledger(settings)
    pending = Pending(settings, ledger.redis, celery_app)
    with WebServer() as web:
        web.route("/robots.txt", "User-agent: *\n")
        web.route("/lost", dev_pages[1]["html"], Content_Type="text/html; charset=utf-8")
        web.route("/kept", dev_pages[2]["html"], Content_Type="text/html; charset=utf-8")
        pending.send(web.url("/lost"))
        for name in broker_lists(settings.fetch_queue):  # the message is lost...
            ledger.redis.delete(name)
        pending.send(web.url("/kept"))  # ...this one is not
        assert ledger.redis.zcard(pending.key) == 2
        nlp = Worker(tmp_path / "nlp.log", concurrency=1, env=env).start()
        fetcher = FetchWorker(tmp_path / "fetch.log", threads=2, env=env).start()
        try:
            got = wait_records(settings, 2, 90, fetcher, nlp)
            time.sleep(6)  # a sweep more: nothing is sent a second time
            got = records(settings)
            left = ledger.redis.zcard(pending.key)
        finally:
            fetcher.stop()
            nlp.stop()
    paths = [p for _, _, p in web.log]
    assert sorted(r["url"].rsplit("/", 1)[-1] for r in got) == ["kept", "lost"], got
    assert paths.count("/lost") == 1 and paths.count("/kept") == 1, paths
    assert left == 0
    assert (
        "stalled_fetches_requeued"
        in (tmp_path / "fetch.log").read_text() + (tmp_path / "nlp.log").read_text()
    )
    assert not dead(settings)
