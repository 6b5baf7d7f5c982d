"""A page URL → the :class:`Submission` that ``submit`` would make of the page: fetched at its
canonical URL, decoded (HTTP charset, BOM, ``<meta charset>``, else detected), identified by
the page's own ``<link rel=canonical>`` / ``og:url`` (normalised), kept as a JSON record with
both ``url`` (as fetched, after redirects) and ``canonical_url``."""

from __future__ import annotations

import json

from worker import charsets
from worker.fetch.client import Client, FetchError
from worker.fetch.urls import canonical_url, host_of, page_canonical
from worker.ingest import Submission, id_for_url

HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")


def fetch_page(client: Client, url: str, *, published_at: str | None = None) -> Submission:
    """Raises :class:`FetchError` (the reason says why) when there is no page to submit."""
    target = canonical_url(url)
    got = client.get(target)
    if got.content_type not in HTML_TYPES:
        raise FetchError(f"not an HTML page ({got.content_type})", target)
    try:
        html, _ = charsets.decode(got.body, declared=got.charset, html=True)
    except charsets.Undecodable as exc:
        raise FetchError(f"undecodable page: {exc}", target) from None
    if not html.strip():
        raise FetchError("empty page", target)
    canonical = canonical_url(page_canonical(html, got.url) or got.url)
    record = {
        "url": got.url,
        "canonical_url": canonical,
        "source": host_of(canonical).removeprefix("www."),
        "html": html,
    }
    if published_at:
        record["published_at"] = published_at[:100]
    payload = json.dumps(record, ensure_ascii=False).encode()
    return Submission(id_for_url(canonical), "json", payload, f"fetched:{got.url}")
