"""Entities stage: people, places and organisations merged per article, plus dates and money.

natasha's NER finds the spans. Instead of morph-tagging the whole article (natasha's ``Doc``
pipeline), only a window of ±3 tokens around each span is tagged: the morph tagger is three
convolutions of width 3, so that window is all the context a span's tags can depend on. Dates and
money are parsed (yargy, slow) only in the sentences that can hold them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
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
DIGIT = re.compile(r"\d")
CURRENCY = re.compile(r"евро|доллар|руб|\bр\b|[$€₽]", re.IGNORECASE)


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


@dataclass
class _Group:
    type: str
    mentions: list[_Mention] = field(default_factory=list)


def extract(text: str, *, published_at: str | None = None) -> Entities:
    """Find the entities, dates and sums of money in ``text``; offsets index into ``text``."""
    if not text.strip():
        return Entities()
    models = get_models()
    sents = sentences(text)
    mentions = _mentions(text, sents, models)
    lead = re.search(r"\n\s*\n", text)  # the first paragraph ends at the first blank line
    lead_end = lead.start() if lead else len(text)
    groups = _merge(mentions)
    most = max((len(group.mentions) for group in groups), default=1)
    entities = [_entity(text, lead_end, most, group) for group in groups]
    entities.sort(key=lambda e: (-e.salience, e.mentions[0].start, e.normal))
    return Entities(
        entities=entities,
        dates=_dates(sents, published_at, models),
        money=_money(sents, models),
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
    return text.lower().replace("ё", "е")


# --- NER and normal forms -------------------------------------------------------------------


def _tokens(sents: list[Sentence]) -> list[Token]:
    return [
        Token(sent.start + tok.start, sent.start + tok.stop, tok.text, index)
        for index, sent in enumerate(sents)
        for tok in tokenize(sent.text)
    ]


def _mentions(text: str, sents: list[Sentence], models: Models) -> list[_Mention]:
    spans = models.ner_tagger(text).spans
    tokens = _tokens(sents)
    starts = [tok.start for tok in tokens]
    ranges = [(bisect_left(starts, span.start), bisect_left(starts, span.stop)) for span in spans]
    mentions = []
    for span, (i, j), tags in zip(spans, ranges, _tag_windows(tokens, ranges, models)):
        normal = _normalize(tokens[i:j], tags, span.type, models) or text[span.start : span.stop]
        mention = _Mention(span.start, span.stop, span.type, normal)
        if span.type == "PER":
            mention.name = _parse_name(normal)
        mentions.append(mention)
    return mentions


def _window(tokens: list[Token], i: int, j: int) -> tuple[int, int]:
    """The tokens the tagger needs to tag tokens[i:j]: up to CONTEXT more each side, same sentence."""
    if i >= j:
        return i, i
    lo, hi = max(0, i - CONTEXT), min(len(tokens), j + CONTEXT)
    while tokens[lo].sent != tokens[i].sent:
        lo += 1
    while tokens[hi - 1].sent != tokens[j - 1].sent:
        hi -= 1
    return lo, hi


def _tag_windows(tokens: list[Token], ranges: list[tuple[int, int]], models: Models) -> list[list]:
    """The morph tags (pos, feats) of the tokens of each span, tagging only their windows."""
    windows = []
    for i, j in ranges:
        lo, hi = _window(tokens, i, j)
        windows.append((i - lo, j - lo, tuple(tok.text for tok in tokens[lo:hi])))
    unique = sorted({words for *_, words in windows}, key=lambda words: (len(words), words))
    markups = dict(zip(unique, models.morph_tagger.map([list(words) for words in unique])))
    return [[(tag.pos, tag.feats) for tag in markups[words].tokens[i:j]] for i, j, words in windows]


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
    if pos not in INFLECTABLE or feats.get("Case", "Nom") == "Nom":
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
    """(first, last, middle) of a person's name in the nominative."""
    models = get_models()
    if " " not in normal.strip():
        word = normal.strip()
        parse = models.morph_vocab.parse(word)[0]
        is_first = "Name" in parse.tag and models.morph_vocab.word_is_known(word)
        return (word, None, None) if is_first else (None, word, None)
    match = models.names_extractor.find(normal)
    if not match:
        return (None, None, None)
    name = match.fact
    return (name.first, name.last, name.middle)


# --- merging --------------------------------------------------------------------------------


def _merge(mentions: list[_Mention]) -> list[_Group]:
    groups: dict[tuple[str, ...], _Group] = {}
    people = _people(mentions)
    for mention in mentions:
        key = _person_key(mention, people) if mention.type == "PER" else _key(mention)
        groups.setdefault(key, _Group(mention.type)).mentions.append(mention)
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


def _entity(text: str, lead_end: int, most: int, group: _Group) -> Entity:
    mentions = sorted(group.mentions, key=lambda m: m.start)
    first = last = middle = None
    if group.type == "PER":
        first, last, middle = (_most_common([m.name[k] for m in mentions]) for k in range(3))
        if first and len(first) == 1:  # an initial only
            first = _most_common([m.name[0] for m in mentions if m.name[0] != first])
    normal = " ".join(p for p in (first, middle, last) if p) or _normal(mentions)
    return Entity(
        type=group.type,
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


def _dates(sents: list[Sentence], published_at: str | None, models: Models) -> list[DateFact]:
    published = _published(published_at)
    facts = []
    for sent in sents:
        if not DIGIT.search(sent.text):
            continue
        for match in models.dates_extractor(sent.text):
            found = match.fact
            year = found.year or _infer_year(found.month, found.day, published)
            facts.append(
                DateFact(
                    start=sent.start + match.start,
                    stop=sent.start + match.stop,
                    text=sent.text[match.start : match.stop],
                    value=_iso(year, found.month, found.day),
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


def _iso(year: int | None, month: int | None, day: int | None) -> str | None:
    if not year:
        return None
    try:
        if month and day:
            return date(year, month, day).isoformat()
        return f"{year:04d}-{month:02d}" if month else f"{year:04d}"
    except ValueError:
        return None


def _money(sents: list[Sentence], models: Models) -> list[MoneyFact]:
    facts = []
    for sent in sents:
        if not (DIGIT.search(sent.text) and CURRENCY.search(sent.text)):
            continue
        for match in models.money_extractor(sent.text):
            facts.append(
                MoneyFact(
                    start=sent.start + match.start,
                    stop=sent.start + match.stop,
                    text=sent.text[match.start : match.stop],
                    amount=float(match.fact.amount),
                    currency=match.fact.currency,
                )
            )
    return facts
