"""The pipeline's steps over an :class:`Article`, shared by the Celery tasks and ``process``.

``decode`` turns a submitted payload into a :class:`RawArticle`; each ``run_*`` step fills one
part of the article from a stage function (``worker.clean``, ``worker.entities``,
``worker.summarize``, ``worker.stories``); ``to_record`` builds what the sinks store. The NLP
models reach the stages from here: given by the caller, else the process's own
(``worker.nlp.load_nlp``, loaded once).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json

import redis
from pydantic import ValidationError

from config import Settings
from worker import charsets, clean
from worker.clean.chrome import SourceChrome, source_domain
from worker.delivery.ledger import utcnow
from worker.entities import extract
from worker.errors import BadArticle
from worker.fetch.urls import canonical_url
from worker.ingest import Kind
from worker.nlp import Nlp, load_nlp
from worker.schema import Article, RawArticle, Record, StoryRef
from worker.stories.group import Item, group_many
from worker.stories.index import StoryIndex
from worker.stories.signatures import signature
from worker.summarize import summarize


def _decode_text(payload: bytes, kind: Kind) -> str:
    try:
        text, _ = charsets.decode(payload, html=kind == "html")
    except charsets.Undecodable as exc:
        raise BadArticle(f"payload is not decodable text: {exc}") from None
    return text


def decode(payload: bytes, kind: Kind, settings: Settings) -> RawArticle:
    """Validate a submitted payload; raise :class:`BadArticle` with a clear reason if unusable."""
    if len(payload) > settings.max_payload_bytes:
        raise BadArticle(
            f"payload is {len(payload)} bytes, over the limit of {settings.max_payload_bytes}"
        )
    try:
        if kind == "json":
            try:
                data = json.loads(payload)
            except ValueError as exc:
                raise BadArticle(f"payload is not valid JSON: {exc}") from None
            if not isinstance(data, dict):
                raise BadArticle(f"payload is JSON {type(data).__name__}, not an object")
            return RawArticle.model_validate(data)
        text = _decode_text(payload, kind)
        return RawArticle(html=text) if kind == "html" else RawArticle(text=text)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors()
        )
        raise BadArticle(f"invalid article: {errors}") from None


def run_clean(
    article_id: str,
    submission: str,
    kind: Kind,
    raw: RawArticle,
    settings: Settings,
    chrome: SourceChrome | None = None,
) -> Article:
    """Clean the article; with ``chrome``, drop the lines its source is known to repeat and
    learn from this page (a Redis outage only turns the learning off for this article)."""
    domain = source_domain(raw.source, raw.url) if chrome else None
    known = None
    if chrome and domain:
        with contextlib.suppress(redis.RedisError):
            known = chrome.known(domain)
    cleaned, lines = clean.clean_page(
        raw,
        chrome=known,
        max_text_chars=settings.max_text_chars,
        min_text_chars=settings.min_text_chars,
    )
    if settings.reject_non_russian and cleaned.language != "ru":
        raise BadArticle(f"text is not Russian (detected: {cleaned.language})")
    if chrome and domain:
        with contextlib.suppress(redis.RedisError):
            chrome.learn(domain, lines, cleaned.text.split("\n\n"))
    return Article(
        id=article_id,
        submission=submission,
        kind=kind,
        url=raw.url,
        canonical_url=raw.canonical_url or (canonical_url(raw.url) if raw.url else None),
        source=raw.source,
        title=cleaned.title,
        published_at=cleaned.published_at,
        clean=cleaned,
    )


def run_entities(article: Article, nlp: Nlp | None = None) -> Article:
    assert article.clean is not None
    nlp = nlp or load_nlp()
    found = extract(article.clean.text, nlp, published_at=article.published_at)
    return article.model_copy(update={"entities": found})


def run_summarize(article: Article, settings: Settings, nlp: Nlp | None = None) -> Article:
    assert article.clean is not None
    nlp = nlp or load_nlp()
    summary = summarize(
        article.clean.text,
        article.entities,
        embedding=nlp.embedding,
        title=article.clean.title,
        subtitle=article.clean.subtitle,
        sentences=settings.summary_sentences,
        chars=settings.summary_chars,
    )
    return article.model_copy(update={"summary": summary})


def run_group(article: Article, index: StoryIndex, nlp: Nlp | None = None) -> Article:
    """Find what the article reprints and the story it belongs to; index it (shared, in
    Redis). Idempotent per article id: grouping it again gives its first grouping back."""
    return run_group_many([article], index, nlp)[0]


def run_group_many(
    articles: list[Article], index: StoryIndex, nlp: Nlp | None = None
) -> list[Article]:
    """:func:`run_group` for a batch, in its order: two round trips to Redis for the whole
    batch (``worker.stories.group.group_many``)."""
    nlp = nlp or load_nlp()
    items = []
    for article in articles:
        assert article.clean is not None and article.entities is not None
        entities = [(e.type, e.normal, e.salience) for e in article.entities.entities]
        sig = signature(
            article.clean.title, article.clean.text, entities, dictionary=nlp.dictionary
        )
        source = article.source or source_domain(None, article.url)
        items.append(Item(article.id, sig, article.clean.title, source))
    return [
        article.model_copy(
            update={
                "grouped": True,
                "duplicate_of": found.duplicate_of,
                "story": StoryRef(**dataclasses.asdict(found.story)),
            }
        )
        for article, found in zip(articles, group_many(index, items))
    ]


def to_record(article: Article) -> Record:
    assert article.clean is not None and article.entities is not None
    assert article.summary is not None
    c, e = article.clean, article.entities
    return Record(
        id=article.id,
        submission=article.submission,
        url=article.url,
        canonical_url=article.canonical_url,
        source=article.source,
        processed_at=utcnow(),
        title=c.title,
        subtitle=c.subtitle,
        author=c.author,
        published_at=c.published_at,
        language=c.language,
        text=c.text,
        entities=e.entities,
        dates=e.dates,
        money=e.money,
        summary=article.summary,
        authors=c.authors,
        modified_at=c.modified_at,
        description=c.description,
        site_name=c.site_name,
        section=c.section,
        tags=c.tags,
        image_url=c.image_url,
        duplicate_of=article.duplicate_of,
        story=article.story,
        chrome=c.chrome,
    )


def process(
    article_id: str, kind: Kind, payload: bytes, settings: Settings, nlp: Nlp | None = None
) -> Record:
    """All stages in this process: what ``newsworker process`` runs, without a broker."""
    nlp = nlp or load_nlp()
    raw = decode(payload, kind, settings)
    article = run_clean(article_id, "local", kind, raw, settings)
    article = run_summarize(run_entities(article, nlp), settings, nlp)
    return to_record(article)
