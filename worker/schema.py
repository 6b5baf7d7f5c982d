"""The data that flows through the pipeline, and the versioned output record.

A submitted payload is validated into :class:`RawArticle`; the stages add :class:`Clean`,
:class:`Entities` and :class:`Summary`; :class:`Record` is what the sinks store and what the
README documents (``newsworker schema`` prints its JSON schema).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 3
"""1: the first record. 2: adds ``duplicate_of`` and ``story`` (grouping). 3: adds the page's
metadata (``authors``, ``modified_at``, ``description``, ``site_name``, ``section``, ``tags``,
``image_url``), and ``published_at`` carries its time and time zone where
the page gives them. New fields only: a consumer of an earlier version reads it as before."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RawArticle(_Model):
    """One submitted article: raw text, an HTML page, or both."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    id: str | int | None = None  # the id itself is read by worker.ingest.derive_id
    url: str | None = Field(None, max_length=4000)
    canonical_url: str | None = Field(None, max_length=4000)
    source: str | None = Field(None, max_length=200)
    title: str | None = Field(None, max_length=2000)
    published_at: str | None = Field(None, max_length=100)
    text: str | None = None
    html: str | None = None

    @model_validator(mode="after")
    def _needs_content(self) -> RawArticle:
        if not (self.text and self.text.strip()) and not (self.html and self.html.strip()):
            raise ValueError("an article needs a non-empty 'text' or 'html'")
        return self


_PUBLISHED = (
    "ISO 8601: a date (YYYY-MM-DD), or a date and time with the page's time zone where it gives "
    "them (YYYY-MM-DDTHH:MM:SS+03:00)."
)


class CutLine(_Model):
    at: int = Field(description="Offset in the clean text where the line stood (before it).")
    text: str


class Clean(_Model):
    """Output of the clean stage: the article's main text and what the page says of itself."""

    text: str = Field(description="Main text; paragraphs separated by a blank line.")
    title: str | None = None
    subtitle: str | None = None
    author: str | None = Field(None, description="The first of ``authors``.")
    published_at: str | None = Field(None, description=_PUBLISHED)
    language: str | None = Field(None, description="Detected language code, e.g. 'ru'.")
    authors: list[str] = Field(default_factory=list, description="Bylines, one name each.")
    modified_at: str | None = Field(None, description="Last modification, as published_at.")
    description: str | None = Field(None, description="The page's own summary (og:description).")
    canonical_url: str | None = Field(None, description="<link rel=canonical>, else og:url.")
    site_name: str | None = Field(None, description="The publication (og:site_name, JSON-LD).")
    section: str | None = Field(None, description="The site's section (article:section).")
    tags: list[str] = Field(default_factory=list, description="Keywords and tags.")
    image_url: str | None = Field(None, description="The lead image (og:image, JSON-LD).")
    chrome: list[CutLine] = Field(
        [],
        description="The page's lines that cleaning cut (menus, link lists, footers…), in page "
        "order, each at the offset of the clean text it stood before (at most 500 lines).",
    )


class Mention(_Model):
    start: int = Field(description="Offset of the first character in the clean text.")
    stop: int = Field(description="Offset after the last character in the clean text.")
    text: str = Field(description="The surface form as it stands in the text.")


class Entity(_Model):
    type: Literal["PER", "LOC", "ORG"]
    normal: str = Field(description="Canonical dictionary form, nominative.")
    first: str | None = Field(None, description="PER: first name.")
    last: str | None = Field(None, description="PER: surname.")
    middle: str | None = Field(None, description="PER: patronymic.")
    count: int = Field(description="Number of mentions.")
    salience: float = Field(description="0..1, how central the entity is to the article.")
    mentions: list[Mention]


class DateFact(_Model):
    start: int
    stop: int
    text: str
    value: str | None = Field(None, description="ISO date (YYYY-MM-DD, YYYY-MM or YYYY).")
    year: int | None = None
    month: int | None = None
    day: int | None = None


class MoneyFact(_Model):
    start: int
    stop: int
    text: str
    amount: float
    currency: str = Field(description="ISO 4217 code where known (RUB, USD, EUR).")


class Entities(_Model):
    entities: list[Entity] = []
    dates: list[DateFact] = []
    money: list[MoneyFact] = []


class SummarySentence(_Model):
    start: int
    stop: int
    text: str


class Summary(_Model):
    method: str
    budget: str = Field(description="e.g. '3 sentences' or '600 chars'.")
    text: str
    sentences: list[SummarySentence]


class StoryRef(_Model):
    """The story an article belongs to, as it stood when the article joined it."""

    id: str = Field(description="The story's id (``newsworker story ID`` lists its articles).")
    first_id: str = Field(description="Id of the story's first article.")
    first_source: str | None = Field(None, description="Source of the story's first article.")
    first_seen: str = Field(description="UTC ISO time the first article was grouped.")
    size: int = Field(description="Articles in the story, this one included, when it joined.")


class Article(_Model):
    """The document that flows through the stages: what the clean stage makes, and the shape
    of its plain JSON form that the later stages fill in and hand over
    (``worker.pipeline.Document``; not validated again between the tasks).

    Each stage fills its own part, as natasha's ``Doc`` gains tokens, spans and facts.
    """

    id: str
    submission: str = Field(description="The submission this run belongs to (worker.delivery).")
    kind: Literal["json", "text", "html"] = Field(description="How the payload is encoded.")
    url: str | None = None
    canonical_url: str | None = None
    source: str | None = None
    title: str | None = None
    published_at: str | None = None
    clean: Clean | None = None
    entities: Entities | None = None
    summary: Summary | None = None
    grouped: bool = Field(False, description="Whether the grouping step has run.")
    duplicate_of: str | None = None
    story: StoryRef | None = None


class Record(_Model):
    """What a sink stores for one processed article (schema_version 3; see SCHEMA_VERSION)."""

    schema_version: int = SCHEMA_VERSION
    id: str
    submission: str = Field(
        "1", description="'1' for an article's first processing; a fresh value for each --force."
    )
    url: str | None = Field(None, description="The URL as given, or as fetched.")
    canonical_url: str | None = Field(
        None,
        description="The article's URL normalised (tracking parameters, mobile and AMP "
        "variants folded; the page's rel=canonical when fetched): what its id comes from.",
    )
    source: str | None = None
    processed_at: str = Field(description="UTC ISO timestamp of delivery.")
    title: str | None = None
    subtitle: str | None = None
    author: str | None = None
    published_at: str | None = Field(None, description=_PUBLISHED)
    language: str | None = None
    text: str
    entities: list[Entity]
    dates: list[DateFact]
    money: list[MoneyFact]
    summary: Summary
    duplicate_of: str | None = Field(
        None,
        description="Id of the earliest article in the window whose clean text this one "
        "reprints (most of the smaller text's 4-word shingles shared), or null.",
    )
    story: StoryRef | None = Field(
        None,
        description="The group of articles about the same event over the window; null when "
        "grouping is off (NEWSWORKER_STORIES=false) or in `newsworker process`.",
    )
    # schema_version 3 (the page's own canonical URL stays in Clean: the record's canonical_url
    # is the one the id comes from)
    authors: list[str] = []
    modified_at: str | None = None
    description: str | None = None
    site_name: str | None = None
    section: str | None = None
    tags: list[str] = []
    image_url: str | None = None
    chrome: list[CutLine] = Field(
        [], description="The page's lines that cleaning cut as chrome (see Clean.chrome)."
    )
