"""What a page says of itself: JSON-LD (schema.org ``NewsArticle`` and kin), OpenGraph and
``article:*`` <meta> tags, microdata, ``<link rel=canonical>``, ``<time datetime>``.

Each field comes from the strongest source that has it, in that order; what the page does not
say is None (the stage falls back on the text for the title, the author and the date).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from worker.clean.normalize import one_line


def meta_tags(tree: etree._Element) -> dict[str, str]:
    """The page's <meta> contents by name, property or itemprop (lowercased; the first wins)."""
    out: dict[str, str] = {}
    for el in tree.iter("meta"):
        name = el.get("property") or el.get("name") or el.get("itemprop")
        content = el.get("content")
        if name and content and content.strip():
            out.setdefault(name.strip().lower(), content)
    return out


@dataclass
class PageMeta:
    title: str | None = None  # JSON-LD headline (see titles.html_title)
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO 8601, with the time and zone the page gives
    modified: str | None = None
    canonical_url: str | None = None
    site_name: str | None = None
    section: str | None = None
    tags: list[str] = field(default_factory=list)
    image_url: str | None = None


_ARTICLE = re.compile(r"(?:\w*Article|\w*Posting|Report|Review|Recipe|HowTo|WebPage)$")
_DATETIME = re.compile(
    r"((?:19|20)\d\d)-?(\d\d)-?(\d\d)(?:[T ](\d\d):?(\d\d)(?::?(\d\d))?(?:[.,]\d+)?"
    r"\s*(Z|[+-]\d\d(?::?\d\d)?)?)?"
)


def iso_datetime(value: str | None) -> str | None:
    """``value`` as ISO 8601: ``YYYY-MM-DD``, or with its time (to the second) and its zone
    (``+03:00``, ``Z`` as ``+00:00``) where it has them; None when it holds no real date between
    1990 and next year."""
    m = _DATETIME.search(value or "")
    if not m:
        return None
    year, month, day = int(m[1]), int(m[2]), int(m[3])
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    if not 1990 <= year <= dt.date.today().year + 1:
        return None
    if m[4] is None:
        return date.isoformat()
    try:
        time = dt.time(int(m[4]), int(m[5]), int(m[6] or 0))
    except ValueError:
        return date.isoformat()
    zone = ""
    if m[7]:
        z = m[7].replace(":", "")
        zone = (
            "+00:00" if z in ("Z", "+00", "-00", "+0000", "-0000") else f"{z[:3]}:{z[3:5] or '00'}"
        )
    return f"{date.isoformat()}T{time.isoformat()}{zone}"


def _nodes(data: Any) -> Iterator[dict]:
    """Every object of a JSON-LD document, @graph members and nested lists included."""
    if isinstance(data, list):
        for item in data:
            yield from _nodes(item)
    elif isinstance(data, dict):
        yield data
        yield from _nodes(data.get("@graph"))


def _types(node: dict) -> list[str]:
    kind = node.get("@type")
    return [t for t in (kind if isinstance(kind, list) else [kind]) if isinstance(t, str)]


def _json_ld(tree: etree._Element) -> list[dict]:
    """The page's JSON-LD objects, articles first (a news article before a web page)."""
    found: list[dict] = []
    for el in tree.iter("script"):
        if (el.get("type") or "").strip().lower() != "application/ld+json" or not el.text:
            continue
        try:
            found.extend(_nodes(json.loads(el.text, strict=False)))
        except ValueError:
            continue
    articles = [n for n in found if any(_ARTICLE.match(t) for t in _types(n))]
    articles.sort(key=lambda n: any(t.endswith("WebPage") for t in _types(n)))
    return articles + [n for n in found if n not in articles]


def _names(value: Any) -> list[str]:
    """Names from a JSON-LD value: a string, an object with a name, or a list of them."""
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    if isinstance(value, dict):
        value = value.get("name")
    name = one_line(value) if isinstance(value, str) else None
    return [name] if name else []


def _url(value: Any) -> str | None:
    if isinstance(value, list):
        return next((u for v in value if (u := _url(v))), None)
    if isinstance(value, dict):
        value = value.get("url") or value.get("@id") or value.get("contentUrl")
    return value.strip() if isinstance(value, str) and value.strip() else None


def _listed(value: Any) -> list[str]:
    if isinstance(value, list):
        return [v for item in value for v in _listed(item)]
    if isinstance(value, str):
        return [t for t in (one_line(p) for p in value.split(",")) if t]
    return []


def _first(*values: Any) -> Any:
    return next((v for v in values if v), None)


_PERSONLESS = re.compile(r"://|^@")  # article:author is often a profile URL, not a name


def page_meta(tree: etree._Element, meta: dict[str, str]) -> PageMeta:
    """The page's metadata, each field from the strongest source that has it."""
    nodes = _json_ld(tree)
    article = nodes[0] if nodes and any(_ARTICLE.match(t) for t in _types(nodes[0])) else {}
    site = next((n for n in nodes if "WebSite" in _types(n) or "Organization" in _types(n)), {})

    def prop(name: str) -> str | None:  # microdata
        for el in tree.xpath(f'//*[@itemprop="{name}"]'):
            value = el.get("content") or el.get("datetime")
            if value and value.strip():
                return value.strip()
        return None

    def times(*names: str) -> str | None:
        for value in names:
            if iso := iso_datetime(value):
                return iso
        return None

    meta_authors = [
        a
        for a in (one_line(meta.get(k)) for k in ("author", "article:author", "dc.creator"))
        if a and not _PERSONLESS.search(a)
    ]
    canonical = tree.xpath('string(//link[@rel="canonical"]/@href)').strip() or None
    tags = [one_line(el.get("content")) for el in tree.xpath('//meta[@property="article:tag"]')]
    return PageMeta(
        title=one_line(_first(*_names(article.get("headline")))),
        description=one_line(
            _first(
                article.get("description") if isinstance(article.get("description"), str) else None,
                meta.get("og:description"),
                meta.get("description"),
                meta.get("twitter:description"),
            )
        ),
        authors=list(dict.fromkeys(_names(article.get("author")) or meta_authors)),
        published=times(
            article.get("datePublished") if isinstance(article.get("datePublished"), str) else None,
            meta.get("article:published_time"),
            meta.get("og:article:published_time"),
            meta.get("published_time"),
        ),
        modified=times(
            article.get("dateModified") if isinstance(article.get("dateModified"), str) else None,
            meta.get("article:modified_time"),
            meta.get("og:updated_time"),
            prop("dateModified"),
        ),
        canonical_url=_first(canonical, meta.get("og:url"), _url(article.get("url"))),
        site_name=one_line(
            _first(
                meta.get("og:site_name"),
                *_names(article.get("publisher")),
                *_names(site),
                meta.get("application-name"),
            )
        ),
        section=one_line(
            _first(*_listed(article.get("articleSection")), meta.get("article:section"))
        ),
        tags=list(
            dict.fromkeys(
                [t for t in tags if t]
                or _listed(article.get("keywords"))
                or _listed(meta.get("news_keywords") or meta.get("keywords"))
            )
        ),
        image_url=_first(
            _url(article.get("image")), meta.get("og:image"), meta.get("twitter:image")
        ),
    )
