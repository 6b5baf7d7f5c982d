"""The pipeline's steps over an article's :data:`Document`, shared by the Celery tasks and
``process``.

``decode`` turns a submitted payload into a :class:`RawArticle` (validated: it comes from
outside); ``run_clean`` makes the :class:`Article`, and ``document`` its plain form; each later
``run_*`` step adds one part to the document from a stage function (``worker.entities``,
``worker.summarize``, ``worker.stories``); ``to_record`` builds what the sinks store (validated:
it goes out to consumers). Between the stages the document is plain data in JSON
(``dump_document``, ``load_document``: orjson), not validated again — the pipeline wrote it.
The NLP models reach the stages from here: given by the caller, else the process's own
(``worker.nlp.load_nlp``, loaded once).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any

import orjson
import redis
from py3langid.langid import LanguageIdentifier
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
from worker.schema import Article, Entities, RawArticle, Record
from worker.stories.group import Item, group_many
from worker.stories.index import StoryIndex
from worker.stories.signatures import Signature, signature
from worker.summarize import summarize
from worker.text import load_language_model


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
    languages: LanguageIdentifier | None = None,
) -> Article:
    """Clean the article; with ``chrome``, drop the lines its source is known to repeat and
    learn from this page (a Redis outage only turns the learning off for this article).
    ``languages``: the language model, loaded once per process when not given."""
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
        languages=languages or load_language_model(),
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


Document = dict[str, Any]
"""An article between the stages: the JSON form of :class:`Article` as plain data."""


def document(article: Article) -> Document:
    """The cleaned article as the stages after clean work on it."""
    return article.model_dump()


def dump_document(doc: Document) -> bytes:
    return orjson.dumps(doc)


def load_document(data: bytes) -> Document:
    """A document a stage handed over (the pipeline's own: not validated again)."""
    return orjson.loads(data)


def run_entities(doc: Document, nlp: Nlp | None = None) -> Document:
    nlp = nlp or load_nlp()
    found = extract(doc["clean"]["text"], nlp, published_at=doc["published_at"])
    return {**doc, "entities": found.model_dump()}


def run_summarize(doc: Document, settings: Settings, nlp: Nlp | None = None) -> Document:
    nlp = nlp or load_nlp()
    clean = doc["clean"]
    found = doc["entities"]
    summary = summarize(
        clean["text"],
        None if found is None else Entities.model_validate(found),  # the stage takes a model
        embedding=nlp.embedding,
        title=clean["title"],
        subtitle=clean["subtitle"],
        sentences=settings.summary_sentences,
        chars=settings.summary_chars,
    )
    return {**doc, "summary": summary.model_dump()}


def sign(doc: Document, nlp: Nlp | None = None) -> Signature:
    """What the grouping keeps of an article (``worker.stories.signatures``)."""
    nlp = nlp or load_nlp()
    clean = doc["clean"]
    return signature(
        clean["title"],
        clean["text"],
        [(e["type"], e["normal"], e["salience"]) for e in doc["entities"]["entities"]],
        dictionary=nlp.dictionary,
    )


def run_group(signed: list[tuple[Document, Signature]], index: StoryIndex) -> list[Document]:
    """Find what each article of a batch (signed: ``sign``) reprints and the story it belongs
    to, in the batch's order, and index it (shared, in Redis): two round trips for the whole
    batch (``worker.stories.group.group_many``). Idempotent per article id: grouping one again
    gives its first grouping back."""
    items = [
        Item(
            doc["id"], sig, doc["clean"]["title"], doc["source"] or source_domain(None, doc["url"])
        )
        for doc, sig in signed
    ]
    return [
        {**doc, "grouped": True, "duplicate_of": found.duplicate_of,
         "story": dataclasses.asdict(found.story)}
        for (doc, _), found in zip(signed, group_many(index, items), strict=True)
    ]  # fmt: skip


_FROM_CLEAN = ("title", "subtitle", "author", "published_at", "language", "text", "authors",
               "modified_at", "description", "site_name", "section", "tags", "image_url",
               "chrome")  # fmt: skip


def to_record(doc: Document) -> Record:
    """The record of a document that went through every stage (validated: consumers read it)."""
    c, e = doc["clean"], doc["entities"]
    return Record.model_validate(
        {
            "id": doc["id"],
            "submission": doc["submission"],
            "url": doc["url"],
            "canonical_url": doc["canonical_url"],
            "source": doc["source"],
            "processed_at": utcnow(),
            **{name: c[name] for name in _FROM_CLEAN},
            "entities": e["entities"],
            "dates": e["dates"],
            "money": e["money"],
            "summary": doc["summary"],
            "duplicate_of": doc.get("duplicate_of"),
            "story": doc.get("story"),
        }
    )


def process(
    article_id: str, kind: Kind, payload: bytes, settings: Settings, nlp: Nlp | None = None
) -> Record:
    """All stages in this process: what ``newsworker process`` runs, without a broker."""
    nlp = nlp or load_nlp()
    raw = decode(payload, kind, settings)
    doc = document(run_clean(article_id, "local", kind, raw, settings))
    return to_record(run_summarize(run_entities(doc, nlp), settings, nlp))
