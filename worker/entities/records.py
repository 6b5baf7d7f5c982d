"""One :class:`worker.schema.Entity` per group of mentions: its canonical name (a person's name
from the commonest spelling of each part), its count and its salience.
"""

from __future__ import annotations

from collections import Counter

from worker import schema
from worker.entities.gazetteer import ALIASES
from worker.entities.mentions import Mention
from worker.entities.names import Name
from worker.text import fold


def entity(text: str, lead_end: int, most: int, mentions: list[Mention]) -> schema.Entity:
    type_ = mentions[0].type
    name = _name(mentions) if type_ == "PER" else Name()
    return schema.Entity(
        type=type_,
        normal=name.full() or _normal(mentions),
        first=name.first,
        last=name.last,
        middle=name.middle,
        count=len(mentions),
        salience=_salience(mentions, most, len(text), lead_end),
        mentions=[
            schema.Mention(start=m.start, stop=m.stop, text=text[m.start : m.stop])
            for m in mentions
        ],
    )


def _name(mentions: list[Mention]) -> Name:
    """A person's name from all its mentions: the commonest spelling of each part, an initial
    only if nothing longer is known."""
    parts = {}
    for part in ("first", "last", "middle"):
        values = [getattr(m.name, part) for m in mentions]
        parts[part] = _most_common([v for v in values if v and len(v) > 1]) or _most_common(values)
    full = [m.name.surname_first for m in mentions if m.name.first and m.name.last]
    surname_first = sum(full) * 2 > len(full)
    return Name(**parts, surname_first=surname_first)


def _normal(mentions: list[Mention]) -> str:
    """The canonical name of a place or an organisation: the one a known alias stands for, else
    the commonest; of equally common ones an abbreviation (the name an article goes on with once
    it has introduced it: "Федеральная антимонопольная служба (ФАС)"), else the first."""
    for mention in mentions:
        if fold(mention.form) in ALIASES:
            return ALIASES[fold(mention.form)]
    counts = Counter(m.form for m in mentions)
    top = max(counts.values())
    tied = [form for form in counts if counts[form] == top]  # in text order
    return next((form for form in tied if form.isupper()), tied[0])


def _most_common(values: list[str | None]) -> str | None:
    """The most frequent non-empty value; ties go to the earliest."""
    counts = Counter(v for v in values if v)
    if not counts:
        return None
    return max(counts, key=lambda v: (counts[v], -values.index(v)))


def _salience(mentions: list[Mention], most: int, length: int, lead_end: int) -> float:
    """Mentions (against the most mentioned entity), how early the first is, is one in the lead."""
    frequency = len(mentions) / most
    earliness = 1 - mentions[0].start / length
    in_lead = 1.0 if mentions[0].start < lead_end else 0.0
    return round(0.5 * frequency + 0.3 * earliness + 0.2 * in_lead, 4)
