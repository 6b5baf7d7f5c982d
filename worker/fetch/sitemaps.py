"""Sitemaps (sitemaps.org) and Google News sitemaps: the page URLs of a ``urlset`` (with the
news title and publication date where given), the child sitemaps of a ``sitemapindex``.
A gzip-compressed sitemap (``.xml.gz``) is decompressed up to the body limit."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from lxml import etree

from worker.fetch.feeds import Item, NotAFeed

_NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


@dataclass
class Sitemap:
    pages: list[Item] = field(default_factory=list)
    children: list[str] = field(default_factory=list)  # of a sitemap index


def gunzip(body: bytes, max_bytes: int) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflate.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise NotAFeed(f"invalid gzip in sitemap: {exc}") from None
    if len(out) > max_bytes:
        raise NotAFeed(f"sitemap over {max_bytes} bytes once decompressed")
    return out


def parse_sitemap(body: bytes, max_bytes: int) -> Sitemap:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(gunzip(body, max_bytes), parser)
    except etree.XMLSyntaxError as exc:
        raise NotAFeed(f"invalid sitemap XML: {exc}") from None
    local = etree.QName(root).localname
    out = Sitemap()
    for node in root:
        if not isinstance(node.tag, str):
            continue
        loc = next((c.text for c in node if etree.QName(c).localname == "loc" and c.text), None)
        if not loc:
            continue
        if local == "sitemapindex":
            out.children.append(loc.strip())
            continue
        news = node.find(f"{_NEWS}news")
        title = date = None
        if news is not None:
            title = news.findtext(f"{_NEWS}title")
            date = news.findtext(f"{_NEWS}publication_date")
        if date is None:
            date = next((c.text for c in node if etree.QName(c).localname == "lastmod"), None)
        out.pages.append(Item(loc.strip(), title, date))
    if local not in ("urlset", "sitemapindex"):
        raise NotAFeed(f"not a sitemap: the root element is <{local}>")
    return out
