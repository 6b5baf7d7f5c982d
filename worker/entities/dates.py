"""Dates: natasha's ``DatesExtractor`` near its cues (a month's name, a year, a dotted number); a
date without a year takes the year nearest to the publication date.
"""

from __future__ import annotations

import re
from datetime import date

from worker.entities.cues import near_cues
from worker.nlp import Nlp
from worker.schema import DateFact
from worker.text import MONTHS

DATE_CUE = re.compile(rf"\b(?:{MONTHS})|\d\s*г|\d\.\d", re.IGNORECASE)


def dates(text: str, published_at: str | None, nlp: Nlp) -> list[DateFact]:
    published = _published(published_at)
    facts = []
    # a date starts with its day or year, or with the month right before the year ("ноябре 2012
    # года"), and ends at most two words after its last number ("2012 г .", "15 ноября")
    dates = near_cues(text, DATE_CUE, nlp.dates_extractor, 2, 3, lead=1, tail=2)
    for start, stop, found in dates:
        year = found.year or _infer_year(found.month, found.day, published)
        facts.append(
            DateFact(
                start=start,
                stop=stop,
                text=text[start:stop],
                value=_iso_value(year, found.month, found.day),
                year=year,
                month=found.month,
                day=found.day,
            )
        )
    return facts


def _published(published_at: str | None) -> date | None:
    try:
        return date.fromisoformat(published_at[:10]) if published_at else None
    except ValueError:
        return None


def _infer_year(month: int | None, day: int | None, published: date | None) -> int | None:
    """The year, of the one before, the same and the one after publication, nearest to it."""
    if not (month and published):
        return None
    nearest = None
    for year in (published.year - 1, published.year, published.year + 1):
        try:
            distance = abs(date(year, month, day or 1) - published)
        except ValueError:
            continue
        if nearest is None or distance < nearest[0]:
            nearest = (distance, year)
    return nearest[1] if nearest else None


def _iso_value(year: int | None, month: int | None, day: int | None) -> str | None:
    if not year:
        return None
    try:
        if month and day:
            return date(year, month, day).isoformat()
        return f"{year:04d}-{month:02d}" if month else f"{year:04d}"
    except ValueError:
        return None
