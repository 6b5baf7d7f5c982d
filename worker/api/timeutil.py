"""Times the API is given: naive means UTC; periods must be valid."""

from __future__ import annotations

import datetime as dt

from fastapi import HTTPException


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def period(
    since: dt.datetime | None, until: dt.datetime | None, default: dt.timedelta
) -> tuple[dt.datetime, dt.datetime]:
    """[since, until): until defaults to now, since to ``default`` before until."""
    end = utc(until) or dt.datetime.now(dt.timezone.utc)
    try:
        start = utc(since) or end - default
        start - (end - start)  # the previous period must exist too
    except OverflowError:
        raise HTTPException(400, "period out of range") from None
    if start >= end:
        raise HTTPException(400, "`since` must be before `until`")
    return start, end
