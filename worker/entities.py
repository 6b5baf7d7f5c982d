"""Entities stage: people, places and organisations merged per article, plus dates and money.

- Spans: natasha's NER model on the article's tokens, its systematic errors repaired
  (``worker.spans``).
- Normal forms: each distinct span put in the nominative, a person's name read into first, middle
  and last name (``worker.normal``). Instead of morph-tagging the whole article (natasha's ``Doc``
  pipeline), the tagger reads only a window of ±3 tokens around the spans that need it.
- Merging: mentions of one entity become one record: the same normal form or a known alias
  ("РФ", "Россия"); a bare surname joins the person named in full; a name and its abbreviation or
  Latin spelling in brackets after it; a name the article also spells in the nominative.
- Dates and money are parsed (yargy, slow) only in the stretches of text around their cues.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from typing import Any

from razdel import sentenize
from razdel.segmenters.tokenize import ATOM, Atom, TokenSplit, tokenize

from worker import normal, spans
from worker.gazetteer import ALIASES, TYPES
from worker.models import Models, get_models
from worker.schema import DateFact, Entities, Entity, Mention, MoneyFact
from worker.spans import Token, fold

LATIN = re.compile(r"[a-z]", re.IGNORECASE)
MONTHS = "январ|феврал|март|апрел|ма[йяею]|июн|июл|август|сентябр|октябр|ноябр|декабр"
DATE_CUE = re.compile(rf"\b(?:{MONTHS})|\d\s*г|\d\.\d", re.IGNORECASE)
MONEY_CUE = re.compile(r"\b(?:евро\b|доллар|руб(?:л|\b)|р\b)|[$€₽]", re.IGNORECASE)
DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Sentence:
    start: int
    stop: int
    text: str


@dataclass
class _Mention:
    start: int
    stop: int
    type: str
    form: str  # the normal form of this mention
    name: normal.Name = field(default_factory=normal.Name)


def extract(text: str, *, published_at: str | None = None) -> Entities:
    """Find the entities, dates and sums of money in ``text``; offsets index into ``text``."""
    if not text.strip():
        return Entities()
    models = get_models()
    lead = re.search(r"\n\s*\n", text)  # the first paragraph ends at the first blank line
    lead_end = lead.start() if lead else len(text)
    groups = _merge(text, _mentions(text, models))
    most = max((len(group) for group in groups), default=1)
    entities = [_entity(text, lead_end, most, group) for group in groups]
    entities.sort(key=lambda e: (-e.salience, e.mentions[0].start, e.normal))
    return Entities(
        entities=entities,
        dates=_dates(text, published_at, models),
        money=_money(text, models),
    )


def sentences(text: str) -> list[Sentence]:
    """razdel sentences with offsets into ``text``; a line break always ends a sentence."""
    out = []
    for line in re.finditer(r"[^\n]+", text):
        for sent in sentenize(line.group()):
            if sent.text.strip():
                start = line.start() + sent.start
                out.append(Sentence(start, start + len(sent.text), sent.text))
    return out


# --- mentions and merging ------------------------------------------------------------------


def tokens_of(text: str) -> list[Token]:
    """razdel tokens of ``text``, with offsets and the index of their sentence."""
    return [
        Token(sent.start + start, sent.start + stop, sent.text[start:stop], index)
        for index, sent in enumerate(sentences(text))
        for start, stop in _tokenize(sent.text)
    ]


def _tokenize(text: str) -> Iterator[tuple[int, int]]:
    """(start, stop) of razdel's tokens of ``text``: its atoms joined by its rules, which it asks
    only where two atoms touch (a space always parts tokens). razdel builds its objects for every
    atom; this only where the rules read them."""
    atoms = list(ATOM.finditer(text))
    first = 0  # the atom the current token starts with
    for k in range(1, len(atoms) + 1):
        if k < len(atoms) and atoms[k].start() == atoms[k - 1].end():
            lo = max(0, k - 3)  # razdel's rules see three atoms either side
            near = [Atom(a.start(), a.end(), a.lastgroup, a.group()) for a in atoms[lo : k + 3]]
            split = TokenSplit(near[: k - lo], "", near[k - lo :])
            split.buffer = text[atoms[first].start() : atoms[k - 1].end()]
            if tokenize.join(split):
                continue
        yield atoms[first].start(), atoms[k - 1].end()
        first = k


def _mentions(text: str, models: Models) -> list[_Mention]:
    """Every span the NER finds, with its normal form (computed once per distinct surface)."""
    tokens = tokens_of(text)
    found = spans.find(tokens, models)
    first: dict[tuple[str, str], tuple[int, int]] = {}
    for span in found:
        first.setdefault((span.type, _surface(text, tokens, span)), (span.start, span.stop))
    tagged = normal.tag(tokens, list(first.values()), models)
    readings = {key: _readings(key[0], words) for key, words in zip(first, tagged)}
    mentions = []
    for span in found:
        for (i, j), (type_, normal_form, name) in readings[span.type, _surface(text, tokens, span)]:
            start, stop = tokens[span.start + i].start, tokens[span.start + j - 1].stop
            mentions.append(_Mention(start, stop, type_, normal_form, name))
    return mentions


def _readings(
    type_: str, words: list[normal.Word]
) -> list[tuple[tuple[int, int], tuple[str, str, normal.Name]]]:
    """The mentions a span holds (word ranges; two people may stand side by side) and their
    readings."""
    if type_ != "PER":
        return [((0, len(words)), _reading(type_, words))]
    bounds = [0, *normal.people(words), len(words)]
    return [((i, j), _reading(type_, words[i:j])) for i, j in pairwise(bounds)]


def _surface(text: str, tokens: list[Token], span: spans.Span) -> str:
    return text[tokens[span.start].start : tokens[span.stop - 1].stop]


def _reading(type_: str, words: list[normal.Word]) -> tuple[str, str, normal.Name]:
    """(type, normal form, name parts) of a span: a person's name is read into its parts; a
    place's or an organisation's name put in the nominative and its type looked up."""
    if type_ == "PER":
        name = normal.person(words)
        return type_, name.full(), name
    nominative = normal.phrase(words)
    return TYPES.get(fold(nominative), type_), nominative, normal.Name()


def _unify_names(mentions: list[_Mention]) -> None:
    """Each part of a person's name spelt as the article spells it where it is not declined."""
    people = [m for m in mentions if m.type == "PER"]
    for part in ("first", "last", "middle"):
        forms = normal.unify({getattr(m.name, part) for m in people if getattr(m.name, part)})
        for m in people:
            if getattr(m.name, part) in forms:
                m.name = m.name._replace(**{part: forms[getattr(m.name, part)]})
                m.form = m.name.full()


def _merge(text: str, mentions: list[_Mention]) -> list[list[_Mention]]:
    """The mentions grouped by the entity they name, in text order."""
    _unify_names(mentions)
    people = _people(mentions)
    keys = [_person_key(m, people) if m.type == "PER" else _key(m) for m in mentions]
    same = _same_keys(text, mentions, keys)
    groups: dict[tuple[str, ...], list[_Mention]] = {}
    for mention, key in zip(mentions, keys):
        groups.setdefault(same.get(key, key), []).append(mention)
    return list(groups.values())


def _same_keys(
    text: str, mentions: list[_Mention], keys: list[tuple[str, ...]]
) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Entities the text itself declares one: a name and, in brackets right after it, its
    abbreviation ("Федеральная антимонопольная служба (ФАС)") or its spelling in the Latin
    alphabet ("Скотт Хоровитц (Scott Horowitz)"). Each key to the key of its group's first name."""
    parent: dict[tuple[str, ...], tuple[str, ...]] = {}

    def root(key: tuple[str, ...]) -> tuple[str, ...]:
        while key in parent:
            key = parent[key]
        return key

    for (a, key_a), (b, key_b) in pairwise(zip(mentions, keys)):
        bracketed = text[a.stop : b.start].strip() == "(" and text[b.stop : b.stop + 1] == ")"
        if bracketed and a.type == b.type and root(key_a) != root(key_b):
            name, other = text[a.start : a.stop], text[b.start : b.stop]
            if _abbreviates(other, name) or _transliterates(other, name):
                parent[root(key_b)] = root(key_a)
    return {key: root(key) for key in parent}


def _key(mention: _Mention) -> tuple[str, ...]:
    folded = fold(mention.form)
    return (mention.type, fold(ALIASES.get(folded, folded)))


def _is_full(name: normal.Name) -> bool:
    return bool(name.first and name.last and len(name.first) > 1)


def _people(mentions: list[_Mention]) -> Counter[tuple[str, str]]:
    """(first, last) of everyone named in full, folded, with how often they are."""
    return Counter(
        (fold(m.name.first or ""), fold(m.name.last or ""))
        for m in mentions
        if m.type == "PER" and _is_full(m.name)
    )


def _person_key(mention: _Mention, people: Counter[tuple[str, str]]) -> tuple[str, ...]:
    """The person a mention names: its own full name, or the person named in full whose surname
    (and initial) it has, if only one is, or one is named in full twice as often as the others
    together; a lone word may be that person's first name or surname (then it is read as the
    surname)."""
    first, last = fold(mention.name.first or ""), fold(mention.name.last or "")
    if not (first or last):
        return ("PER", fold(mention.form))
    if _is_full(mention.name):
        return ("PER", first, last)
    candidates = sorted(
        (
            person
            for person in people
            if (last and person[1] == last and person[0].startswith(first))
            or (not last and first in person)
        ),
        key=lambda person: (-people[person], person),
    )
    if not candidates or people[candidates[0]] < 2 * sum(people[p] for p in candidates[1:]):
        return ("PER", first, last)
    if not last and candidates[0][1] == first:  # "Лукас" named "Джордж Лукас"
        mention.name = normal.Name(last=mention.name.first)
    return ("PER", *candidates[0])


def _abbreviates(short: str, name: str) -> bool:
    """Are the letters of ``short`` ("ФРИИ") initials of ``name``'s words, in order ("Фонд
    развития интернет-инициатив")?"""
    letters = [c for c in short if c.isalpha()]
    initials = iter(fold(word[0]) for word in re.findall(r"\w+", name))
    return (
        len(letters) > 1
        and short.isupper()
        and fold(letters[0]) == fold(name[0])
        and all(fold(c) in initials for c in letters)
    )


def _transliterates(other: str, name: str) -> bool:
    """Is ``other`` written in Latin letters where ``name`` is in Cyrillic ones?"""
    cyrillic = normal.CYRILLIC
    return bool(LATIN.search(other)) and not cyrillic.search(other) and bool(cyrillic.search(name))


# --- entities -------------------------------------------------------------------------------


def _entity(text: str, lead_end: int, most: int, mentions: list[_Mention]) -> Entity:
    type_ = mentions[0].type
    name = _name(mentions) if type_ == "PER" else normal.Name()
    return Entity(
        type=type_,
        normal=name.full() or _normal(mentions),
        first=name.first,
        last=name.last,
        middle=name.middle,
        count=len(mentions),
        salience=_salience(mentions, most, len(text), lead_end),
        mentions=[
            Mention(start=m.start, stop=m.stop, text=text[m.start : m.stop]) for m in mentions
        ],
    )


def _name(mentions: list[_Mention]) -> normal.Name:
    """A person's name from all its mentions: the commonest spelling of each part, an initial
    only if nothing longer is known."""
    parts = {}
    for part in ("first", "last", "middle"):
        values = [getattr(m.name, part) for m in mentions]
        parts[part] = _most_common([v for v in values if v and len(v) > 1]) or _most_common(values)
    full = [m.name.surname_first for m in mentions if m.name.first and m.name.last]
    surname_first = sum(full) * 2 > len(full)
    return normal.Name(**parts, surname_first=surname_first)


def _normal(mentions: list[_Mention]) -> str:
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


def _salience(mentions: list[_Mention], most: int, length: int, lead_end: int) -> float:
    """Mentions (against the most mentioned entity), how early the first is, is one in the lead."""
    frequency = len(mentions) / most
    earliness = 1 - mentions[0].start / length
    in_lead = 1.0 if mentions[0].start < lead_end else 0.0
    return round(0.5 * frequency + 0.3 * earliness + 0.2 * in_lead, 4)


# --- dates and money ------------------------------------------------------------------------


def _dates(text: str, published_at: str | None, models: Models) -> list[DateFact]:
    published = _published(published_at)
    facts = []
    # a date starts with its day or year, or with the month right before the year ("ноябре 2012
    # года"), and ends at most two words after its last number ("2012 г .", "15 ноября")
    dates = _near_cues(text, DATE_CUE, models.dates_extractor, 2, 3, lead=1, tail=2)
    for start, stop, found in dates:
        year = found.year or _infer_year(found.month, found.day, published)
        facts.append(
            DateFact(
                start=start,
                stop=stop,
                text=text[start:stop],
                value=_iso(year, found.month, found.day),
                year=year,
                month=found.month,
                day=found.day,
            )
        )
    return facts


def _money(text: str, models: Models) -> list[MoneyFact]:
    # a sum starts with its number; what follows that (a numeral in brackets) has no bound
    sums = _near_cues(text, MONEY_CUE, models.money_extractor, 6, 3, lead=0, tail=None)
    return [
        MoneyFact(
            start=start,
            stop=stop,
            text=text[start:stop],
            amount=float(found.amount),
            currency=found.currency,
        )
        for start, stop, found in sums
    ]


def _near_cues(
    text: str,
    cue: re.Pattern,
    extractor: Any,
    before: int,
    after: int,
    *,
    lead: int,
    tail: int | None,
) -> Iterator[tuple[int, int, Any]]:
    """(start, stop, fact) of the extractor's matches; it (yargy, slow) reads only the stretches
    from ``before`` words left of a cue to ``after`` words right of it, and of each only what a
    match can span: every date and every sum has a number, and a match starts at most ``lead``
    words before the first word with a digit and ends at most ``tail`` words after the last.
    yargy reads token by token, none across a space: cutting off words no match reaches changes
    nothing."""
    for lo, hi in _stretches(text, cue, before, after, lead, tail):
        for match in extractor(text[lo:hi]):
            yield lo + match.start, lo + match.stop, match.fact


def _stretches(
    text: str, cue: re.Pattern, before: int, after: int, lead: int, tail: int | None
) -> list[tuple[int, int]]:
    at = [match.start() for match in cue.finditer(text)]
    if not at:
        return []
    words = [match.span() for match in re.finditer(r"\S+", text)]
    starts = [start for start, _ in words]
    ranges: list[list[int]] = []  # word index ranges, overlapping ones merged
    for offset in at:
        k = bisect_right(starts, offset) - 1
        lo, hi = max(0, k - before), min(len(words) - 1, k + after)
        if ranges and lo <= ranges[-1][1]:
            ranges[-1][1] = max(hi, ranges[-1][1])
        else:
            ranges.append([lo, hi])
    out = []
    for lo, hi in ranges:
        numbers = [k for k in range(lo, hi + 1) if DIGIT.search(text, *words[k])]
        if numbers:
            last = hi if tail is None else min(hi, numbers[-1] + tail)
            out.append((words[max(lo, numbers[0] - lead)][0], words[last][1]))
    return out


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


def _iso(year: int | None, month: int | None, day: int | None) -> str | None:
    if not year:
        return None
    try:
        if month and day:
            return date(year, month, day).isoformat()
        return f"{year:04d}-{month:02d}" if month else f"{year:04d}"
    except ValueError:
        return None
