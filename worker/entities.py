"""Entities stage: people, places and organisations merged per article, plus dates and money.

natasha's NER finds the spans. Instead of morph-tagging the whole article (natasha's ``Doc``
pipeline), only a window of ±3 tokens around each span is tagged: the morph tagger is three
convolutions of width 3, so that window is all the context a span's tags can depend on. Dates and
money are parsed (yargy, slow) only in the sentences that can hold them.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from natasha.shape import recover_shape
from razdel import sentenize, tokenize

from worker.models import Models, get_models
from worker.schema import DateFact, Entities, Entity, Mention, MoneyFact

CONTEXT = 3  # tokens either side of a span that the morph tagger looks at
INFLECTABLE = {"PROPN", "NOUN", "ADJ", "VERB"}
AGREEMENT = (("Gender", "Number", "Case"), ("Number", "Case"), ("Case",))
ALIASES = {
    "сша": "США",
    "соединенные штаты": "США",
    "соединенные штаты америки": "США",
    "россия": "Россия",
    "рф": "Россия",
    "российская федерация": "Россия",
    "ес": "Евросоюз",
    "евросоюз": "Евросоюз",
    "европейский союз": "Евросоюз",
}
PARTICLES = {"ле", "де", "дель", "ди", "да", "фон", "ван", "дер", "аль", "эль", "бен", "ибн"}
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
MONTHS = "январ|феврал|март|апрел|ма[йяею]|июн|июл|август|сентябр|октябр|ноябр|декабр"
DATE_CUE = re.compile(rf"\b(?:{MONTHS})|\d\s*г|\d\.\d", re.IGNORECASE)
MONEY_CUE = re.compile(r"\b(?:евро\b|доллар|руб(?:л|\b)|р\b)|[$€₽]", re.IGNORECASE)
DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class Sentence:
    start: int
    stop: int
    text: str


@dataclass(frozen=True)
class Token:
    start: int
    stop: int
    text: str
    sent: int  # index of its sentence


@dataclass
class _Mention:
    start: int
    stop: int
    type: str
    normal: str
    name: tuple[str | None, str | None, str | None] = (None, None, None)  # first, last, middle


def extract(text: str, *, published_at: str | None = None) -> Entities:
    """Find the entities, dates and sums of money in ``text``; offsets index into ``text``."""
    if not text.strip():
        return Entities()
    models = get_models()
    lead = re.search(r"\n\s*\n", text)  # the first paragraph ends at the first blank line
    lead_end = lead.start() if lead else len(text)
    groups = _merge(_mentions(text, models))
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


def fold(text: str) -> str:
    """The form used to compare names: lowercase, ё as е."""
    return _no_yo(text.lower())


def _no_yo(text: str) -> str:
    """ё as е (the models know words mostly as news spells them, without ё); same length."""
    return text.replace("ё", "е").replace("Ё", "Е")


# --- NER and normal forms -------------------------------------------------------------------


def _tokens(sents: list[Sentence]) -> list[Token]:
    return [
        Token(sent.start + tok.start, sent.start + tok.stop, tok.text, index)
        for index, sent in enumerate(sents)
        for tok in tokenize(sent.text)
    ]


def _mentions(text: str, models: Models) -> list[_Mention]:
    spans = models.ner_tagger(_no_yo(text)).spans
    normals = _normals(text, [(span.type, span.start, span.stop) for span in spans], models)
    mentions = []
    for span in spans:
        normal = normals[span.type, text[span.start : span.stop]]
        mention = _Mention(span.start, span.stop, span.type, normal)
        if span.type == "PER":
            mention.name = _parse_name(normal)
        mentions.append(mention)
    return mentions


def _normals(
    text: str, spans: list[tuple[str, int, int]], models: Models
) -> dict[tuple[str, str], str]:
    """The nominative of each distinct (type, surface), tagged where it first occurs."""
    tokens = _tokens(sentences(text))
    starts = [tok.start for tok in tokens]
    first: dict[tuple[str, str], tuple[int, int]] = {}
    for type_, start, stop in spans:
        first.setdefault(
            (type_, text[start:stop]), (bisect_left(starts, start), bisect_left(starts, stop))
        )
    tags = _tag_windows(tokens, list(first.values()), models)
    return {
        (type_, surface): _normalize(tokens[i:j], tag, type_, models) or surface
        for ((type_, surface), (i, j)), tag in zip(first.items(), tags)
    }


def _window(tokens: list[Token], i: int, j: int) -> tuple[int, int]:
    """What the tagger needs to tag tokens[i:j]: CONTEXT more tokens each side, same sentence."""
    if not any(_declinable(tok.text) for tok in tokens[i:j]):
        return i, i
    lo, hi = max(0, i - CONTEXT), min(len(tokens), j + CONTEXT)
    while tokens[lo].sent != tokens[i].sent:
        lo += 1
    while tokens[hi - 1].sent != tokens[j - 1].sent:
        hi -= 1
    return lo, hi


def _declinable(word: str) -> bool:
    """Could ``word`` be in an oblique case? Not "США", "BP" or "2017"."""
    return not word.isupper() and bool(CYRILLIC.search(word))


def _tag_windows(tokens: list[Token], ranges: list[tuple[int, int]], models: Models) -> list[list]:
    """The morph tags (pos, feats) of the tokens of each span, tagging only their windows."""
    windows = []
    for i, j in ranges:
        lo, hi = _window(tokens, i, j)
        windows.append((i - lo, j - lo, tuple(_no_yo(tok.text) for tok in tokens[lo:hi])))
    unique = sorted({words for *_, words in windows if words}, key=lambda w: (len(w), w))
    markups = dict(zip(unique, models.morph_tagger.map([list(words) for words in unique])))
    return [
        [(tag.pos, tag.feats) for tag in markups[words].tokens[i:j]] if words else []
        for i, j, words in windows
    ]


def _normalize(tokens: list[Token], tags: list, type_: str, models: Models) -> str:
    """Put a span in the nominative: a name all through; of a place or an organisation only the
    head noun and the words before it ("Соединенных Штатов Америки" → "Соединенные Штаты Америки").
    """
    words = []
    head_seen = False
    for tok, (pos, feats) in zip(tokens, tags):
        words.append(tok.text if head_seen else _nominative(tok.text, pos, feats, models))
        head_seen = head_seen or (type_ != "PER" and pos in ("NOUN", "PROPN"))
    if not words:
        return ""
    parts = [words[0]]
    for prev, tok, word in zip(tokens, tokens[1:], words[1:]):
        parts.append(" " * (tok.start - prev.stop) + word)
    return "".join(parts)


def _nominative(word: str, pos: str, feats: dict[str, str], models: Models) -> str:
    if pos not in INFLECTABLE or feats.get("Case", "Nom") == "Nom" or not _declinable(word):
        return word
    form = _form(models.morph_vocab(word.lower()), pos, feats)
    nominative = form.inflect({"Nom"}) if form else None
    if not nominative:
        return word
    result = nominative.word if "ё" in word.lower() else nominative.word.replace("ё", "е")
    if word.lower().startswith(result):  # keeps the shape of "ГАБТа" → "ГАБТ"
        return word[: len(result)]
    return recover_shape(result, word)


def _form(forms: list, pos: str, feats: dict[str, str]) -> Any:
    """The dictionary form the tagger's tags describe, agreeing less and less strictly."""
    noun = pos.replace("PROPN", "NOUN")
    same_pos = [form for form in forms if form.pos.replace("PROPN", "NOUN") == noun]
    for keys in AGREEMENT:
        for form in same_pos:
            if all(form.feats.get(key) == feats.get(key) for key in keys):
                return form
    return None


@lru_cache(maxsize=4096)
def _parse_name(normal: str) -> tuple[str | None, str | None, str | None]:
    """(first, last, middle) of a name in the nominative, read in the news order "Имя Отчество
    Фамилия"; initials ("В. Путин") stand for the first and the middle name."""
    words = re.sub(r"\b(\w)\.\s*", r"\1. ", normal).split()
    if not words:
        return (None, None, None)
    if len(words) == 1:
        return (words[0], None, None) if _grammeme(words[0], "Name") else (None, words[0], None)
    first = words[0].rstrip(".")
    middle = words[1].rstrip(".") if words[1].endswith(".") or _grammeme(words[1], "Patr") else None
    rest = words[2:] if middle else words[1:]
    last = rest.pop() if rest else None
    while last and rest and fold(rest[-1]) in PARTICLES:
        last = f"{rest.pop()} {last}"
    return (first, last, middle)


def _grammeme(word: str, grammeme: str) -> bool:
    """Is ``word`` a dictionary word whose likeliest reading has ``grammeme`` (Name, Patr…)?"""
    vocab = get_models().morph_vocab
    return vocab.word_is_known(word) and grammeme in vocab.parse(word)[0].tag


# --- merging --------------------------------------------------------------------------------


def _merge(mentions: list[_Mention]) -> list[list[_Mention]]:
    """The mentions grouped by the entity they name, in text order."""
    groups: dict[tuple[str, ...], list[_Mention]] = {}
    people = _people(mentions)
    for mention in mentions:
        key = _person_key(mention, people) if mention.type == "PER" else _key(mention)
        groups.setdefault(key, []).append(mention)
    return list(groups.values())


def _key(mention: _Mention) -> tuple[str, ...]:
    folded = fold(mention.normal)
    return (mention.type, fold(ALIASES.get(folded, folded)))


def _is_full(name: tuple[str | None, str | None, str | None]) -> bool:
    first, last, _ = name
    return bool(first and last and len(first) > 1)


def _people(mentions: list[_Mention]) -> set[tuple[str, str]]:
    """(first, last) of everyone named in full, folded."""
    return {
        (fold(m.name[0] or ""), fold(m.name[1] or ""))
        for m in mentions
        if m.type == "PER" and _is_full(m.name)
    }


def _person_key(mention: _Mention, people: set[tuple[str, str]]) -> tuple[str, ...]:
    first, last, _ = (fold(part) if part else "" for part in mention.name)
    if not (first or last):
        return ("PER", fold(mention.normal))
    if _is_full(mention.name):
        return ("PER", first, last)
    candidates = [
        person
        for person in sorted(people)
        if (last and person[1] == last and person[0].startswith(first))
        or (not last and first in person)  # one word: the first name or the surname
    ]
    if len(candidates) == 1:
        return ("PER", *candidates[0])
    return ("PER", first, last)


# --- entities -------------------------------------------------------------------------------


def _entity(text: str, lead_end: int, most: int, mentions: list[_Mention]) -> Entity:
    type_ = mentions[0].type
    first = last = middle = None
    if type_ == "PER":
        first, last, middle = (_name_part(mentions, k) for k in range(3))
    parts = [f"{p}." if len(p) == 1 else p for p in (first, middle, last) if p]
    normal = " ".join(parts) or _normal(mentions)
    return Entity(
        type=type_,
        normal=normal,
        first=first,
        last=last,
        middle=middle,
        count=len(mentions),
        salience=_salience(mentions, most, len(text), lead_end),
        mentions=[
            Mention(start=m.start, stop=m.stop, text=text[m.start : m.stop]) for m in mentions
        ],
    )


def _name_part(mentions: list[_Mention], k: int) -> str | None:
    """The commonest spelling of the k-th part of a person's name (first, last, middle), an
    initial only if nothing longer is known."""
    values = [m.name[k] for m in mentions]
    return _most_common([v for v in values if v and len(v) > 1]) or _most_common(values)


def _normal(mentions: list[_Mention]) -> str:
    folded = fold(mentions[0].normal)
    if folded in ALIASES:
        return ALIASES[folded]
    return _most_common([m.normal for m in mentions]) or mentions[0].normal


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
    for start, stop, found in _near_cues(text, DATE_CUE, models.dates_extractor, 2, 3):
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
    return [
        MoneyFact(
            start=start,
            stop=stop,
            text=text[start:stop],
            amount=float(found.amount),
            currency=found.currency,
        )
        for start, stop, found in _near_cues(text, MONEY_CUE, models.money_extractor, 6, 3)
    ]


def _near_cues(
    text: str, cue: re.Pattern, extractor: Any, before: int, after: int
) -> Iterator[tuple[int, int, Any]]:
    """(start, stop, fact) of the extractor's matches; it (yargy, slow) reads only the stretches
    from ``before`` words left of a cue to ``after`` words right of it."""
    for lo, hi in _stretches(text, cue, before, after):
        if not DIGIT.search(text, lo, hi):
            continue  # every date and every sum has a number
        for match in extractor(text[lo:hi]):
            yield lo + match.start, lo + match.stop, match.fact


def _stretches(text: str, cue: re.Pattern, before: int, after: int) -> list[tuple[int, int]]:
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
    return [(words[lo][0], words[hi][1]) for lo, hi in ranges]


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
