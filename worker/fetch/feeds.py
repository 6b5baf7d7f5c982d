"""What a source's response lists: RSS / Atom items (feedparser), JSON Feed items, or, via
:mod:`worker.fetch.sitemaps`, sitemap URLs; and telling which of them a response is."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin

import feedparser

Kind = Literal["feed", "sitemap", "page"]


class NotAFeed(ValueError):
    """The response is not the feed or sitemap it should be, or is broken."""


@dataclass(frozen=True)
class Item:
    """One article a source lists."""

    url: str
    title: str | None = None
    published_at: str | None = None


_COMMENTS = re.compile(rb"<!--.*?-->|<\?.*?\?>|<!DOCTYPE(?! html)[^>]*>", re.S | re.I)
_ROOT = re.compile(rb"<\s*([\w:.-]+)")


def classify(body: bytes, content_type: str = "") -> Kind | None:
    """What ``body`` is by its content: a feed (RSS, RDF, Atom, JSON Feed), a sitemap (urlset,
    sitemap index; gzip-compressed too) or an HTML page; None if none of them."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"\x1f\x8b"):
        return "sitemap"  # a .xml.gz: only sitemaps come compressed in the body
    if head.startswith(b"{"):
        return "feed" if b"jsonfeed.org" in head[:1000] or "json" in content_type else None
    m = _ROOT.search(_COMMENTS.sub(b"", head))
    if not m:
        return None
    root = m.group(1).lower().split(b":")[-1]
    if root in (b"rss", b"feed", b"rdf", b"channel"):
        return "feed"
    if root in (b"urlset", b"sitemapindex"):
        return "sitemap"
    if root in (b"html", b"!doctype", b"head", b"body"):
        return "page"
    return None


def parse_feed(body: bytes, base_url: str) -> list[Item]:
    """The items of an RSS, Atom or JSON feed that link to an article. Raises
    :class:`NotAFeed` for an HTML page, and for a broken feed that yields no item."""
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return _json_feed(body, base_url)
    if classify(body) == "page":
        raise NotAFeed("not a feed: the response is an HTML page")
    parsed = feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False)
    items = []
    for entry in parsed.entries:
        link = entry.get("link") or next(
            (ln.get("href") for ln in entry.get("links", []) if ln.get("href")), None
        )
        if not link:
            continue
        published = entry.get("published") or entry.get("updated")
        items.append(Item(urljoin(base_url, link.strip()), entry.get("title"), published))
    if not items and parsed.get("bozo"):
        raise NotAFeed(f"invalid feed XML: {parsed.get('bozo_exception')}")
    if not items and not parsed.get("version"):
        raise NotAFeed("not a feed: no RSS, Atom or JSON Feed in the response")
    return items


def _json_feed(body: bytes, base_url: str) -> list[Item]:
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise NotAFeed(f"invalid JSON feed: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise NotAFeed("not a JSON Feed: no 'items' list")
    items = []
    for entry in data["items"]:
        if not isinstance(entry, dict):
            continue
        link = entry.get("url") or entry.get("external_url")
        if isinstance(link, str) and link.strip():
            published = entry.get("date_published") or entry.get("date_modified")
            items.append(Item(urljoin(base_url, link.strip()), entry.get("title"), published))
    return items
