"""The fetching parts on their own, against a real HTTP server on loopback and the real Redis:
URL identity, encodings, the polite client (faults, limits, robots.txt, conditional GET),
feeds, sitemaps, the sources file."""

from __future__ import annotations

import gzip
import json
import threading
import time
import uuid

import pytest
from conftest import SAMPLE
from webserver import WebServer

from worker import charsets
from worker.delivery.ledger import connect
from worker.fetch.client import Client, FetchError
from worker.fetch.feeds import NotAFeed, classify, parse_feed
from worker.fetch.sitemaps import parse_sitemap
from worker.fetch.sources import BadSources, Source, SourcesFile, parse
from worker.fetch.urls import canonical_url, page_canonical, url_key

TEXT = SAMPLE.read_text(encoding="utf-8")


@pytest.fixture
def web():
    with WebServer() as server:
        server.route("/robots.txt", "User-agent: *\nDisallow: /private/\n")
        yield server


def client_for(settings, **overrides) -> Client:
    s = settings.model_copy(
        update={
            "key_prefix": f"{settings.key_prefix}-{uuid.uuid4().hex[:6]}",
            "host_rate": 100.0,
            **overrides,
        }
    )
    return Client(s, connect(s))


# -- URL identity -------------------------------------------------------------------------
def test_tracking_mobile_and_amp_variants_are_one_url():
    plain = "https://www.gazeta.ru/politics/2017/11/14/putin.shtml"
    variants = [
        "https://www.gazeta.ru/politics/2017/11/14/putin.shtml?utm_source=tg&utm_medium=social",
        "https://m.gazeta.ru/politics/2017/11/14/putin.shtml",
        "HTTPS://WWW.Gazeta.RU:443/politics/2017/11/14/putin.shtml#comments",
        "https://www.gazeta.ru/politics/2017/11/14/putin.shtml?fbclid=x1&yclid=2&from=main",
        "https://amp.gazeta.ru/politics/2017/11/14/putin.shtml",
        "https://www.gazeta.ru/amp/politics/2017/11/14/putin.shtml",
        "http://gazeta.ru/politics/2017/11/14/putin.shtml",
    ]
    assert {url_key(v) for v in variants} == {url_key(plain)}
    # What identifies the article stays: its query parameters, its path.
    assert url_key("https://site.ru/news?id=1") != url_key("https://site.ru/news?id=2")
    assert url_key("https://site.ru/a/1") != url_key("https://site.ru/a/2")
    assert url_key("https://m.ru/x") != url_key("https://ru/x")  # m.ru is a site of its own
    assert canonical_url("https://m.lenta.ru/news/1/?utm_campaign=a") == "https://lenta.ru/news/1/"


def test_the_page_names_its_canonical_url():
    head = '<html><head><link rel="canonical" href="/news/1?a=1&amp;b=2"></head><body>'
    assert page_canonical(head, "https://m.site.ru/x") == "https://m.site.ru/news/1?a=1&b=2"
    og = '<head><meta property="og:url" content="https://site.ru/q"></head>'
    assert page_canonical(og, "https://site.ru/z") == "https://site.ru/q"
    assert page_canonical("<head></head><body>none</body>", "https://site.ru/z") is None


# -- encodings ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1251", "koi8-r", "iso-8859-5"]
)
def test_every_encoding_decodes_to_the_same_text(encoding):
    text = TEXT.replace("«", '"').replace("»", '"').replace("—", "-").replace("–", "-")
    text = "".join(c for c in text if c.isascii() or "а" <= c.lower() <= "я" or c in "ёЁ")
    data = text.encode(encoding)
    assert charsets.decode(data)[0] == text
    page = f"<html><head><title>t</title></head><body><p>{text}</p></body></html>"
    assert charsets.decode(page.encode(encoding), html=True)[0] == page
    short = "Президенты поговорили о Корее"
    assert charsets.decode(short.encode(encoding))[0] == short


def test_a_declared_charset_wins_and_a_wrong_one_is_survived():
    page = "<html><head><meta charset='windows-1251'></head><body>Привет, мир</body></html>"
    assert charsets.decode(page.encode("cp1251"), html=True) == (page, "cp1251")
    lying = page.replace("windows-1251", "utf-8").encode("cp1251")
    assert charsets.decode(lying, html=True)[0] == page.replace("windows-1251", "utf-8")


def test_binary_is_undecodable():
    with pytest.raises(charsets.Undecodable):
        charsets.decode(bytes(range(256)) * 8)


# -- the client ---------------------------------------------------------------------------
def test_conditional_get_answers_304(web, settings):
    web.route("/feed", "<rss/>", Content_Type="application/rss+xml")
    client = client_for(settings)
    first = client.get(web.url("/feed"))
    assert first.status == 200 and first.body == b"<rss/>"
    again = client.get(web.url("/feed"), etag=first.headers["etag"])
    assert again.not_modified


def test_the_user_agent_is_the_configured_one(web, settings):
    seen = []

    def echo(h):
        seen.append(h.headers.get("User-Agent"))
        h.send_response(200)
        h.send_header("Content-Length", "2")
        h.end_headers()
        h.wfile.write(b"ok")

    web.routes["/ua"] = echo
    client_for(settings, user_agent="TestBot/1.0").get(web.url("/ua"))
    assert seen == ["TestBot/1.0"]


@pytest.mark.parametrize(
    ("path", "reason", "transient"),
    [
        ("/missing", "HTTP 404", False),
        ("/error", "HTTP 500", True),
        ("/busy", "HTTP 503", True),
        ("/never-ends", "timeout after 1 s", True),
        ("/loop-a", "redirect loop", False),
        ("/big", "body over 1 MB", False),
        ("/bomb", "body over 1 MB", False),
        ("/private/page", "robots.txt disallows", False),
        ("/redirects-to-private", "robots.txt disallows", False),
    ],
)
def test_every_failure_has_its_reason(web, settings, path, reason, transient):
    web.add_faults()
    web.route("/error", "boom", status=500)
    web.route("/busy", "later", status=503, Retry_After="7")
    web.route("/redirects-to-private", status=301, Location="/private/page")
    client = client_for(settings, fetch_timeout=1.0, fetch_max_bytes=1_000_000)
    started = time.monotonic()
    with pytest.raises(FetchError) as failed:
        client.get(web.url(path))
    assert failed.value.reason.startswith(reason), failed.value.reason
    assert failed.value.transient is transient
    assert time.monotonic() - started < 10  # stopped early: no 50 MB read, no endless wait
    if path == "/busy":
        assert failed.value.retry_after == 7


def test_a_gzip_bomb_costs_the_body_limit_not_its_size(web, settings):
    import tracemalloc

    web.add_faults()
    client = client_for(settings, fetch_max_bytes=1_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="body over 1 MB"):
            client.get(web.url("/bomb"))  # 50 MB once inflated
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8_000_000, peak


def test_too_many_redirects(web, settings):
    for n in range(5):
        web.route(f"/r{n}", status=302, Location=f"/r{n + 1}")
    web.route("/r5", "<html>end</html>")
    with pytest.raises(FetchError, match="more than 3 redirects"):
        client_for(settings, fetch_max_redirects=3).get(web.url("/r0"))
    assert client_for(settings).get(web.url("/r0")).url == web.url("/r5")


def test_gzip_and_brotli_are_decoded(web, settings):
    import brotli

    web.route("/gz", gzip.compress(TEXT.encode()), Content_Encoding="gzip")
    web.route("/br", brotli.compress(TEXT.encode()), Content_Encoding="br")
    client = client_for(settings)
    assert client.get(web.url("/gz")).body == TEXT.encode()
    assert client.get(web.url("/br")).body == TEXT.encode()


def test_robots_txt_is_fetched_once_and_shared(web, settings):
    web.route("/a", "a")
    web.route("/b", "b")
    client = client_for(settings)
    client.get(web.url("/a"))
    other = Client(client.settings, connect(client.settings))  # another worker, same Redis
    other.get(web.url("/b"))
    assert web.hits("/robots.txt") == 1


def test_the_per_host_limits_hold_across_threads(web, settings):
    for n in range(12):
        web.route(f"/p{n}", f"page {n}")
    client = client_for(settings, host_rate=4.0, host_concurrency=2, robots_txt=False)
    urls = [web.url(f"/p{n}", host=h) for n in range(12) for h in ("127.0.0.1", "localhost")]
    threads = [threading.Thread(target=lambda u=u: client.get(u)) for u in urls]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    for host in ("127.0.0.1", "localhost"):
        times = sorted(t for t, h, _ in web.log if h.startswith(host))
        assert len(times) == 12
        # At most 4 starts in any second (0.9 s: 50 ms of slack for a loaded machine's
        # scheduling between the limiter's slot and the server's clock).
        for i, t in enumerate(times):
            assert sum(1 for u in times[i:] if u < t + 0.9) <= 4, (host, times)
    assert elapsed < 6  # the two hosts went in parallel (12 × 0.25 s each)


# -- feeds and sitemaps -------------------------------------------------------------------
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>One</title><link>https://site.ru/1</link>
<pubDate>Tue, 14 Nov 2017 10:00:00 +0300</pubDate></item>
<item><title>Two</title><link>/2</link></item></channel></rss>"""
ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>t</title><entry><title>One</title><link href="https://site.ru/1"/>
<updated>2017-11-14T10:00:00Z</updated></entry></feed>"""
JSONFEED = json.dumps(
    {"version": "https://jsonfeed.org/version/1.1", "title": "t",
     "items": [{"id": "1", "url": "https://site.ru/1", "title": "One"}, {"id": "x"}]}
).encode()  # fmt: skip


def test_feeds_of_every_format():
    rss = parse_feed(RSS, "https://site.ru/rss")
    assert [i.url for i in rss] == ["https://site.ru/1", "https://site.ru/2"]
    assert rss[0].title == "One" and rss[0].published_at.startswith("Tue, 14 Nov 2017")
    assert [i.url for i in parse_feed(ATOM, "https://site.ru/atom")] == ["https://site.ru/1"]
    assert [i.url for i in parse_feed(JSONFEED, "https://site.ru/f.json")] == ["https://site.ru/1"]
    assert {classify(RSS), classify(ATOM), classify(JSONFEED)} == {"feed"}


def test_broken_feeds_are_refused_with_the_reason():
    with pytest.raises(NotAFeed, match="invalid feed XML"):
        parse_feed(b"<?xml version='1.0'?><rss><channel><item><title>x</ti", "https://s.ru/")
    with pytest.raises(NotAFeed, match="HTML page"):
        parse_feed(b"<!DOCTYPE html><html><body><a href='/1'>1</a></body></html>", "https://s")
    assert classify(b"<!doctype html><html></html>") == "page"


NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://site.ru/1</loc><news:news><news:publication><news:name>S</news:name>
<news:language>ru</news:language></news:publication>
<news:publication_date>2017-11-14T10:00:00+03:00</news:publication_date>
<news:title>One</news:title></news:news></url>
<url><loc>https://site.ru/2</loc><lastmod>2017-11-15</lastmod></url></urlset>"""


def test_news_sitemaps_and_indexes():
    plain = parse_sitemap(NEWS_SITEMAP, 10_000_000)
    assert [(p.url, p.title, p.published_at) for p in plain.pages] == [
        ("https://site.ru/1", "One", "2017-11-14T10:00:00+03:00"),
        ("https://site.ru/2", None, "2017-11-15"),
    ]
    index = (
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://site.ru/s1.xml</loc></sitemap>"
        b"<sitemap><loc>https://site.ru/s2.xml.gz</loc></sitemap></sitemapindex>"
    )
    assert parse_sitemap(index, 10_000).children == [
        "https://site.ru/s1.xml",
        "https://site.ru/s2.xml.gz",
    ]
    assert len(parse_sitemap(gzip.compress(NEWS_SITEMAP), 10_000).pages) == 2
    with pytest.raises(NotAFeed, match="decompressed"):
        parse_sitemap(gzip.compress(b" " * 100_000), 10_000)
    with pytest.raises(NotAFeed, match="invalid sitemap XML"):
        parse_sitemap(b"<urlset><url><loc>x</url>", 10_000)


# -- the sources file ---------------------------------------------------------------------
def test_sources_file_format_and_reread(tmp_path):
    text = """# news
https://lenta.ru/rss
feed https://site.ru/rss.xml every=10m   # often
sitemap https://site.ru/news.xml every=2h
page https://site.ru/a/1
"""
    assert parse(text) == [
        Source("https://lenta.ru/rss"),
        Source("https://site.ru/rss.xml", "feed", 600),
        Source("https://site.ru/news.xml", "sitemap", 7200),
        Source("https://site.ru/a/1", "page"),
    ]
    with pytest.raises(BadSources, match="line 1"):
        parse("feed ftp://x/")
    with pytest.raises(BadSources, match="every=DURATION"):
        parse("https://x.ru/ often")
    path = tmp_path / "sources.txt"
    path.write_text("https://a.ru/rss\n")
    sources = SourcesFile(path)
    assert sources.refresh() and [s.url for s in sources.sources] == ["https://a.ru/rss"]
    assert not sources.refresh()
    path.write_text("https://a.ru/rss\nhttps://b.ru/rss every=30s\n")
    assert sources.refresh() and sources.sources[1] == Source("https://b.ru/rss", "auto", 30)
    path.write_text("nonsense line\n")
    assert not sources.refresh() and len(sources.sources) == 2 and "line 1" in sources.error
