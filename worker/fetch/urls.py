"""URL identity: one article, one URL, however a feed or a share button spelled it.

:func:`canonical_url` normalises with courlan (scheme and host case, default ports, ``//``
and ``..`` in paths, sorted query, tracking parameters such as ``utm_*``, ``fbclid``,
``yclid``), then drops what courlan keeps but news sites add for tracking (``from``,
``_openstat``…) and the fragment, and folds mobile and AMP variants onto the main site (``m.``,
``mobile.``, ``amp.`` hosts; an ``/amp/`` path segment or a trailing ``/amp``).
:func:`url_key` is what an article's id is derived from: the canonical URL without its scheme
and a leading ``www.``, so ``http://www.site.ru/a`` and ``https://site.ru/a`` are one article.
:func:`page_canonical` reads the page's own ``<link rel=canonical>`` / ``og:url``.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url

#: Query parameters dropped on top of courlan's trackers.
EXTRA_TRACKERS = frozenset({"from", "_openstat", "openstat", "utm", "rss_from", "fromrss"})
# The rest must still be a site (``m.ru`` stays), or a local name such as ``localhost``.
_MOBILE_HOST = re.compile(r"^(?:m|mobile|amp|touch|pda)\.(?=[^.:]+\.[^.]+|localhost(?::|$))")
_AMP_PATH = re.compile(r"/amp(?=/|$)")


def canonical_url(url: str) -> str:
    """The canonical form of ``url`` (see the module's docstring); ``url`` itself, stripped,
    if it is not an absolute http(s) URL."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    try:
        url = normalize_url(url)
    except ValueError:
        return url
    parts = urlsplit(url)
    host = _MOBILE_HOST.sub("", parts.netloc)
    path = _AMP_PATH.sub("", parts.path) or "/"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
         if k.lower() not in EXTRA_TRACKERS]
    )  # fmt: skip
    return urlunsplit((parts.scheme, host, path, query, ""))


def url_key(url: str) -> str:
    """The identity of the article at ``url``: its canonical URL less scheme and ``www.``."""
    canon = canonical_url(url)
    parts = urlsplit(canon)
    if not parts.netloc:
        return canon
    host = parts.netloc.removeprefix("www.")
    return urlunsplit(("", host, parts.path, parts.query, "")).removeprefix("//")


def host_of(url: str) -> str:
    """``host[:port]`` of ``url``, lower-cased: the unit of politeness."""
    return urlsplit(url).netloc.lower()


_LINK = re.compile(r"<link\b[^>]*>", re.I)
_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([\w:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""")


def _attrs(tag: str) -> dict[str, str]:
    return {k.lower(): v.strip("\"'").strip() for k, v in _ATTR.findall(tag)}


def page_canonical(html: str, base_url: str) -> str | None:
    """The URL the page names as its own: ``<link rel=canonical>``, else ``og:url``, resolved
    against ``base_url``; None when it names none (or a non-http one).

    (A stopgap until the clean stage extracts the page's metadata, canonical URL included.)
    """
    head = html[:200_000]
    end = head.lower().find("</head>")
    if end > 0:
        head = head[:end]
    found = None
    for tag in _LINK.findall(head):
        a = _attrs(tag)
        if "canonical" in a.get("rel", "").lower().split() and a.get("href"):
            found = a["href"]
            break
    if found is None:
        for tag in _META.findall(head):
            a = _attrs(tag)
            if a.get("property", a.get("name", "")).lower() == "og:url" and a.get("content"):
                found = a["content"]
                break
    if not found:
        return None
    import html as htmllib

    resolved = urljoin(base_url, htmllib.unescape(found))
    return resolved if urlsplit(resolved).scheme in ("http", "https") else None
