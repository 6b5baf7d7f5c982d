"""The publication date: from the metadata, the URL, the lines next to the body or a <time>."""

from __future__ import annotations

import datetime as dt
import re

from lxml import etree

from worker.clean.html import element_text
from worker.clean.lines import Line, around
from worker.clean.metadata import iso_datetime
from worker.text import MONTHS, month_number

_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "published_time",
    "pubdate", "publishdate", "publish-date", "date", "dc.date", "dc.date.issued",
    "dcterms.created", "dcterms.date", "sailthru.date",
)  # fmt: skip
_ISO_DATE = re.compile(r"\b((?:19|20)\d\d)-(\d\d)-(\d\d)")
_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-]?(\d\d)[/-]?(\d\d)(?=/|\D)")
_NUMERIC_DATE = re.compile(r"\b(\d\d?)\.(\d\d?)\.((?:19|20)?\d\d)\b")
_WORDED_DATE = re.compile(
    rf"\b(\d\d?) ((?:{MONTHS})\w*),? ((?:19|20)?\d\d)\b(?![:.]\d)", re.IGNORECASE
)


_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_EN_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_EN_DATE = re.compile(  # "August 25, 2024", "Aug. 25th 2024", "25 August 2024"
    rf"\b(?:({_EN_MONTH}) (\d\d?)(?:st|nd|rd|th)?,? ((?:19|20)\d\d)"
    rf"|(\d\d?)(?:st|nd|rd|th)? (?:of )?({_EN_MONTH}),? ((?:19|20)\d\d))\b",
    re.IGNORECASE,
)


def _iso(year: int, month: int, day: int) -> str | None:
    """``YYYY-MM-DD`` when it is a real date between 1990 and next year."""
    if year < 100:
        year += 2000
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None
    return date.isoformat() if 1990 <= year <= dt.date.today().year + 1 else None


def find_date(text: str, iso: bool = True) -> str | None:
    """The first date written in ``text`` (ISO, dd.mm.yyyy, "5 января 2012", "May 5, 2012")."""
    found = []
    if iso and (m := _ISO_DATE.search(text)):
        found.append((m.start(), _iso(int(m[1]), int(m[2]), int(m[3]))))
    if m := _NUMERIC_DATE.search(text):
        found.append((m.start(), _iso(int(m[3]), int(m[2]), int(m[1]))))
    if m := _WORDED_DATE.search(text):
        month = month_number(m[2]) or 0
        found.append((m.start(), _iso(int(m[3]), month, int(m[1]))))
    if m := _EN_DATE.search(text):
        name, day, year = (m[1], m[2], m[3]) if m[1] else (m[5], m[4], m[6])
        month = _EN_MONTHS.index(name[:3].lower()) + 1
        found.append((m.start(), _iso(int(year), month, int(day))))
    return min((f for f in found if f[1]), default=(0, None))[1]


def _url_date(url: str | None) -> str | None:
    m = _URL_DATE.search(url or "")
    return _iso(int(m[1]), int(m[2]), int(m[3])) if m else None


# Other names sites give the publication date's <meta> ("published-date", "parsely-pub-date")
_PUBLISHED_KEY = re.compile(r"(?:^|\W)pub(?:lish(?:ed)?)?\W?(?:date|time)(?:$|\W)")


def _meta_date(tree: etree._Element, meta: dict[str, str], url: str | None) -> str | None:
    """The publication date from the <meta> tags or the page's URL (as given, else canonical)."""
    for key in _DATE_KEYS:
        if key in meta and (date := find_date(meta[key])):
            return date
    named = [
        date
        for key, value in meta.items()
        if _PUBLISHED_KEY.search(key) and (date := iso_datetime(value) or find_date(value))
    ]
    if named:  # they may disagree (a "published-time" that is the page's rendering): the first
        return min(named, key=lambda date: date[:10])
    canonical = tree.xpath('string(//link[@rel="canonical"]/@href)')
    return _url_date(url) or _url_date(meta.get("og:url")) or _url_date(canonical)


def _marked_date(tree: etree._Element) -> str | None:
    """The first date of a <time> or itemprop="datePublished" element (with its time where
    its attribute has one)."""
    for el in tree.xpath('//*[@itemprop="datePublished"]|//time'):
        value = el.get("datetime") or el.get("content")
        if date := iso_datetime(value) or find_date(value or element_text(el)):
            return date
    return None


_DATELINE_WORDS = 8  # a line this short with a whole date in it ("September 1st, 2023 By …")


def _text_date(lines: list[Line], span: tuple[int, int], near: bool = True) -> str | None:
    """The first date written in a short line above the body, else below it; or, when not
    ``near``, anywhere on the page (a site's header often shows today's date)."""
    for line in around(lines, span) if near else lines:
        if (line.meta or line.words <= _DATELINE_WORDS) and (
            date := find_date(line.text, iso=False)
        ):
            return date
    return None


def page_date(
    tree: etree._Element,
    meta: dict[str, str],
    url: str | None,
    lines: list[Line],
    span: tuple[int, int],
) -> str | None:
    """The publication date: from the metadata, else written next to the body, else marked up
    somewhere, else written anywhere."""
    return (
        _meta_date(tree, meta, url)
        or _text_date(lines, span)
        or _marked_date(tree)
        or _text_date(lines, span, near=False)
    )
