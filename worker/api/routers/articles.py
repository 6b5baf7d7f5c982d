"""GET /articles (filters, cursor pagination) and GET /articles/{id}."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from worker.api import deps, queries
from worker.api.models import ArticleDetail, ArticlePage, EntityType
from worker.api.timeutil import utc

router = APIRouter(tags=["articles"])

Text = Annotated[str | None, Query(min_length=1, max_length=300)]


@router.get("/articles", response_model=ArticlePage)
def list_articles(
    conn: deps.DB,
    settings: deps.Config,
    entity: Text = None,
    type: Annotated[EntityType | None, Query(description="With `entity`: its type.")] = None,
    source: Text = None,
    since: Annotated[dt.datetime | None, Query(description="dated_at >= since")] = None,
    until: Annotated[dt.datetime | None, Query(description="dated_at < until")] = None,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=500, description="Full text (Russian), websearch syntax."),
    ] = None,
    story: Text = None,
    language: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Capped by the server's limit.")] = 50,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> ArticlePage:
    """Articles newest first (by `dated_at`), filtered; `next_cursor` pages on."""
    flt = queries.ArticleFilter(
        entity=entity, type=type, source=source, since=utc(since), until=utc(until),
        q=q, story=story, language=language,
    )  # fmt: skip
    try:
        rows, next_cursor = queries.list_articles(
            conn, flt, min(limit, settings.api_max_page_size), cursor
        )
    except queries.BadCursor:
        raise HTTPException(400, "invalid cursor") from None
    return ArticlePage.model_validate({"items": rows, "next_cursor": next_cursor})


@router.get("/articles/{article_id:path}", response_model=ArticleDetail)
def get_article(
    conn: deps.DB,
    article_id: Annotated[str, Path(max_length=200)],
) -> ArticleDetail:
    """The current version of an article: typed fields, entities, versions, full record."""
    row = queries.get_article(conn, article_id)
    if row is None:
        raise HTTPException(404, f"no article {article_id!r}")
    return ArticleDetail.model_validate(row)
