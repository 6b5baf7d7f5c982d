"""GET /entities/top and GET /entities/{type}/{normal}/timeline."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from worker.api import deps, queries
from worker.api.models import EntityType, Timeline, TopEntities
from worker.api.timeutil import period, utc

router = APIRouter(prefix="/entities", tags=["entities"])


@router.get("/top", response_model=TopEntities)
def top(
    conn: deps.DB,
    type: EntityType | None = None,
    since: Annotated[dt.datetime | None, Query(description="Default: a day before until.")] = None,
    until: Annotated[dt.datetime | None, Query(description="Default: now.")] = None,
    order: Annotated[
        Literal["articles", "rising"],
        Query(description="articles: most mentioned; rising: most gained on the period before."),
    ] = "articles",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> TopEntities:
    """Entities by articles mentioning them in [since, until), against the previous period."""
    start, end = period(since, until, dt.timedelta(days=1))
    rows = queries.top_entities(conn, type, start, end, limit, order)
    return TopEntities(
        since=start,
        until=end,
        previous_since=start - (end - start),
        items=rows,  # type: ignore[arg-type]
    )


@router.get("/{type}/{normal}/timeline", response_model=Timeline)
def timeline(
    conn: deps.DB,
    type: EntityType,
    normal: Annotated[str, Path(min_length=1, max_length=300)],
    interval: Literal["hour", "day"] = "day",
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Timeline:
    """Articles mentioning the entity per hour or day (UTC), by `dated_at`."""
    rows = queries.timeline(conn, type, normal, interval, utc(since), utc(until))
    return Timeline(type=type, normal=normal, interval=interval, buckets=rows)  # type: ignore[arg-type]
