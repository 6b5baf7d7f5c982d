"""The article page's content from a record: plain functions over the record's dict.

:func:`render` turns a record (schema_version 1, as the sinks store it) into paragraphs of
HTML in which every entity mention, date and money amount the record has is one highlighted
element (``data-m`` numbers them), summary sentences are marked, and the lines that cleaning
cut as chrome (the record's ``chrome``, where present) sit where they stood on the page.

Marks may overlap (a date inside an organisation's name, a summary sentence around both): they
are nested, and a mark that crosses another's end is split into pieces carrying the same
``data-m``, so each mention stays one countable mark.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

TYPES: dict[str, str] = {
    "PER": "персона",
    "LOC": "место",
    "ORG": "организация",
    "DATE": "дата",
    "MONEY": "деньги",
}
"""Highlighted types and their names on the page (legend, tooltips)."""

ENTITY_TYPES = ("PER", "LOC", "ORG")

_CURRENCY = {"RUB": "₽", "USD": "$", "EUR": "€"}

# Nesting order of marks: the lower, the further out.
_SUMMARY, _ENTITY, _FACT = 0, 1, 2


@dataclass(frozen=True, order=True)
class _Mark:
    layer: int
    start: int
    neg_stop: int  # longer first among marks that start together
    seq: int
    attrs: str = field(compare=False)
    """The element's attributes (escaped), without ``href`` and ``id``."""
    href: str = field(compare=False, default="")
    """A link's target: the mark is an ``<a>``, or a focusable ``<span>`` inside another link
    (HTML has no nested links)."""
    anchor: str = field(compare=False, default="")
    """``id`` of the mark's first piece."""

    @property
    def stop(self) -> int:
        return -self.neg_stop


@dataclass
class Paragraph:
    start: int
    stop: int
    html: Markup
    cut_before: list[str] = field(default_factory=list)


@dataclass
class EntityRow:
    type: str
    normal: str
    count: int
    salience: float
    href: str


@dataclass
class ArticleView:
    paragraphs: list[Paragraph]
    cut_after: list[str]
    entities: list[EntityRow]
    summary: list[tuple[int, str]]
    """(number, sentence) of the summary; the number is the ``#s{n}`` anchor in the text."""
    mentions: int
    """How many marks (distinct ``data-m``) the text carries."""
    counts: dict[str, int]
    """Marks per type (PER, LOC, ORG, DATE, MONEY), for the legend."""
    cut_lines: int


def money_label(fact: dict[str, Any]) -> str:
    amount = fact.get("amount")
    currency = fact.get("currency") or ""
    if isinstance(amount, (int, float)):
        number = f"{amount:,.2f}".rstrip("0").rstrip(".").replace(",", "\u00a0")
    else:
        number = str(amount)
    return f"{number}\u00a0{_CURRENCY.get(currency, currency)}".strip()


def date_label(fact: dict[str, Any]) -> str:
    if fact.get("value"):
        return str(fact["value"])
    parts = [
        f"{fact[k]:02d}" if k != "year" else str(fact[k])
        for k in ("year", "month", "day")
        if fact.get(k) is not None
    ]
    return "-".join(parts) if parts else str(fact.get("text", ""))


def _attr(value: object) -> str:
    return str(escape(str(value)))


def _marks(
    record: dict[str, Any], entity_href: Callable[[str, str], str]
) -> tuple[list[_Mark], dict[str, int]]:
    marks: list[_Mark] = []
    counts = dict.fromkeys(TYPES, 0)
    n = 0

    def add(
        layer: int, start: int, stop: int, attrs: str, href: str = "", anchor: str = ""
    ) -> None:
        marks.append(_Mark(layer, start, -stop, len(marks), attrs, href, anchor))

    for i, sent in enumerate((record.get("summary") or {}).get("sentences") or [], 1):
        add(_SUMMARY, sent["start"], sent["stop"], f'class="summary" data-s="{i}"', anchor=f"s{i}")
    for ent in record.get("entities") or []:
        kind, normal = ent["type"], ent["normal"]
        tip = _attr(f"{TYPES.get(kind, kind)}: {normal}")
        href = _attr(entity_href(kind, normal))
        for mention in ent.get("mentions") or []:
            attrs = (
                f'class="ent ent-{kind.lower()}" data-m="{n}" data-type="{kind}" data-tip="{tip}"'
            )
            add(_ENTITY, mention["start"], mention["stop"], attrs, href=href)
            counts[kind] = counts.get(kind, 0) + 1
            n += 1
    facts = [("DATE", f, date_label(f)) for f in record.get("dates") or []]
    facts += [("MONEY", f, money_label(f)) for f in record.get("money") or []]
    for kind, fact, label in facts:
        tip = _attr(f"{TYPES[kind]}: {label}")
        attrs = (
            f'class="ent ent-{kind.lower()}" tabindex="0" data-m="{n}" data-type="{kind}" '
            f'data-tip="{tip}"'
        )
        add(_FACT, fact["start"], fact["stop"], attrs)
        counts[kind] += 1
        n += 1
    return marks, counts


def _paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, stop) of the paragraphs: the text split at blank lines."""
    spans, pos = [], 0
    while pos <= len(text):
        end = text.find("\n\n", pos)
        if end < 0:
            end = len(text)
        if text[pos:end].strip():
            spans.append((pos, end))
        pos = end + 2
    return spans


def _html(text: str, start: int, stop: int, marks: list[_Mark], seen: set[int]) -> Markup:
    """``text[start:stop]`` with the marks that intersect it, properly nested."""
    bounds = {start, stop}
    for m in marks:
        bounds.add(max(start, m.start))
        bounds.add(min(stop, m.stop))
    points = sorted(bounds)
    opening: dict[int, list[_Mark]] = {}
    closing: dict[int, list[_Mark]] = {}
    for m in marks:
        opening.setdefault(max(start, m.start), []).append(m)
        closing.setdefault(min(stop, m.stop), []).append(m)
    out: list[str] = []
    stack: list[_Mark] = []
    active: list[_Mark] = []  # sorted: the order marks nest in
    for a, b in itertools.pairwise(points):
        for m in closing.get(a, ()):
            active.remove(m)
        for m in opening.get(a, ()):
            bisect.insort(active, m)
        # keep the part of the stack that is still the start of the active marks' order
        keep = 0
        while keep < len(stack) and keep < len(active) and stack[keep] is active[keep]:
            keep += 1
        for m in reversed(stack[keep:]):
            out.append(_close(m, stack))
            stack.pop()
        for m in active[keep:]:
            out.append(_open(m, stack, seen))
            stack.append(m)
        out.append(str(escape(text[a:b])))
    while stack:
        out.append(_close(stack[-1], stack))
        stack.pop()
    return Markup("".join(out))


def _element(mark: _Mark, stack: list[_Mark]) -> str:
    """The element name of ``mark`` opened inside ``stack``."""
    if mark.href and not any(m.href for m in stack):
        return "a"
    return "span"


def _open(mark: _Mark, stack: list[_Mark], seen: set[int]) -> str:
    name = _element(mark, stack)
    attrs = mark.attrs
    if mark.anchor and mark.seq not in seen:
        attrs += f' id="{mark.anchor}"'
    seen.add(mark.seq)
    if name == "a":
        attrs = f'href="{mark.href}" {attrs}'
    elif mark.href:
        attrs = f'tabindex="0" {attrs}'
    return f"<{name} {attrs}>"


def _close(mark: _Mark, stack: list[_Mark]) -> str:
    """Closing tag of ``mark``, the top of ``stack``."""
    return f"</{_element(mark, stack[:-1])}>"


def _place_cuts(
    chrome: Iterable[dict[str, Any]], paragraphs: list[Paragraph]
) -> tuple[list[str], int]:
    """Attach each cut line to the first paragraph at or after its offset; the rest go last."""
    starts = [p.start for p in paragraphs]
    after: list[str] = []
    n = 0
    for line in chrome:
        n += 1
        i = bisect.bisect_left(starts, int(line.get("at", 0)))
        if i < len(paragraphs):
            paragraphs[i].cut_before.append(str(line.get("text", "")))
        else:
            after.append(str(line.get("text", "")))
    return after, n


def render(record: dict[str, Any], entity_href: Callable[[str, str], str]) -> ArticleView:
    """The article page's content for ``record``; ``entity_href(type, normal)`` is the URL of
    an entity's page."""
    text: str = record.get("text") or ""
    marks, counts = _marks(record, entity_href)
    marks.sort(key=lambda m: m.start)
    starts = [m.start for m in marks]
    paragraphs = []
    seen: set[int] = set()
    longest = max((m.stop - m.start for m in marks), default=0)
    for start, stop in _paragraph_spans(text):
        # marks that intersect [start, stop): they start before stop and end after start
        lo = bisect.bisect_left(starts, start - longest)
        hi = bisect.bisect_left(starts, stop)
        inside = [m for m in marks[lo:hi] if m.stop > start and m.stop > m.start]
        paragraphs.append(Paragraph(start, stop, _html(text, start, stop, inside, seen)))
    cut_after, cut_lines = _place_cuts(record.get("chrome") or [], paragraphs)
    rows = [
        EntityRow(
            e["type"],
            e["normal"],
            int(e.get("count") or len(e.get("mentions") or [])),
            float(e.get("salience") or 0.0),
            entity_href(e["type"], e["normal"]),
        )
        for e in record.get("entities") or []
    ]
    rows.sort(key=lambda r: (-r.salience, -r.count, r.normal))
    summary = [
        (i, s["text"])
        for i, s in enumerate((record.get("summary") or {}).get("sentences") or [], 1)
    ]
    return ArticleView(
        paragraphs=paragraphs,
        cut_after=cut_after,
        entities=rows,
        summary=summary,
        mentions=sum(counts.values()),
        counts=counts,
        cut_lines=cut_lines,
    )
