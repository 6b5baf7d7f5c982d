"""What the API's endpoints return (and what /openapi.json documents)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

EntityType = Literal["PER", "LOC", "ORG"]


class Error(BaseModel):
    status: int
    message: str
    detail: Any = None


class ErrorBody(BaseModel):
    error: Error


class ArticleSummary(BaseModel):
    id: str
    submission: str
    versions: int = Field(description="Submissions kept for this id (a --force adds one).")
    url: str | None
    canonical_url: str | None
    source: str | None
    title: str | None
    published_at: dt.datetime | None
    processed_at: dt.datetime
    dated_at: dt.datetime = Field(description="published_at, else processed_at.")
    language: str | None
    story_id: str | None
    summary: str | None


class ArticlePage(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")


class ArticleEntity(BaseModel):
    type: EntityType
    normal: str
    count: int
    salience: float


class Version(BaseModel):
    submission: str
    processed_at: dt.datetime


class ArticleDetail(ArticleSummary):
    entities: list[ArticleEntity]
    history: list[Version]
    record: dict[str, Any] = Field(description="The full record of the current version.")


class TopEntity(BaseModel):
    type: EntityType
    normal: str
    articles: int = Field(description="Articles mentioning it in [since, until).")
    mentions: int
    previous: int = Field(description="Articles in the period of the same length before.")
    change: int = Field(description="articles - previous: rising when positive.")


class TopEntities(BaseModel):
    since: dt.datetime
    until: dt.datetime
    previous_since: dt.datetime
    items: list[TopEntity]


class Bucket(BaseModel):
    bucket: dt.datetime
    articles: int
    mentions: int


class Timeline(BaseModel):
    type: EntityType
    normal: str
    interval: Literal["hour", "day"]
    buckets: list[Bucket]


class Day(BaseModel):
    day: dt.datetime
    articles: int


class Source(BaseModel):
    source: str | None
    articles: int
    first_dated: dt.datetime
    last_dated: dt.datetime
    last_seen: dt.datetime = Field(description="When its latest article was processed.")
    articles_per_day: float = Field(description="Mean over the days of [since, until).")
    daily: list[Day]
    dead_letters: int
    dead_letter_share: float = Field(description="dead / (dead + articles).")


class Sources(BaseModel):
    since: dt.datetime
    until: dt.datetime
    items: list[Source]


class DeadLetter(BaseModel):
    entry: str = Field(description="Id of the dead letter (its stream entry).")
    id: str
    stage: str
    reason: str
    failed_at: str
    kind: str
    source: str | None
    payload_bytes: int
    payload: str = Field(description="The payload as text, cut at 2,000 characters.")


class DeadLetters(BaseModel):
    items: list[DeadLetter]
    next_cursor: str | None


class Retried(BaseModel):
    entry: str
    id: str
    queued: bool
