"""GET /sources: articles per day, last seen and dead-letter share of each source."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from worker.api import deadletters, deps, queries
from worker.api.models import Source, Sources
from worker.api.timeutil import period

router = APIRouter(tags=["sources"])


@router.get("/sources", response_model=Sources)
def sources(
    conn: deps.DB,
    request: Request,
    since: Annotated[
        dt.datetime | None, Query(description="Default: 30 days before until.")
    ] = None,
    until: Annotated[dt.datetime | None, Query(description="Default: now.")] = None,
) -> Sources:
    """Every source with articles: totals, daily counts in [since, until), dead letters."""
    start, end = period(since, until, dt.timedelta(days=30))
    totals, daily = queries.sources(conn, start, end)
    dead = deadletters.per_source(request.app.state.ledger)
    days = max((end - start).total_seconds() / 86400, 1e-9)
    items = []
    for row in totals:
        per_day = daily.get(row["source"], [])
        n_dead = dead.get(row["source"], 0)
        items.append(
            Source(
                **row,
                articles_per_day=round(sum(d["articles"] for d in per_day) / days, 3),
                daily=per_day,  # type: ignore[arg-type]
                dead_letters=n_dead,
                dead_letter_share=round(n_dead / (n_dead + row["articles"]), 4),
            )
        )
    return Sources(since=start, until=end, items=items)
