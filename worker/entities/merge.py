"""Merging: mentions of one entity become one group: the same normal form or a known alias
("РФ", "Россия"); a bare surname joins the person named in full; a name and its abbreviation or
Latin spelling in brackets after it; a name the article also spells in the nominative.
"""

from __future__ import annotations

import re
from collections import Counter
from itertools import pairwise

from worker.entities import names
from worker.entities.gazetteer import ALIASES
from worker.entities.mentions import Mention
from worker.entities.names import Name
from worker.text import CYRILLIC, LATIN, fold


def _unify_names(mentions: list[Mention]) -> None:
    """Each part of a person's name spelt as the article spells it where it is not declined."""
    people = [m for m in mentions if m.type == "PER"]
    for part in ("first", "last", "middle"):
        forms = names.unify({getattr(m.name, part) for m in people if getattr(m.name, part)})
        for m in people:
            if getattr(m.name, part) in forms:
                m.name = m.name._replace(**{part: forms[getattr(m.name, part)]})
                m.form = m.name.full()


def merge(text: str, mentions: list[Mention]) -> list[list[Mention]]:
    """The mentions grouped by the entity they name, in text order."""
    _unify_names(mentions)
    people = _people(mentions)
    keys = [_person_key(m, people) if m.type == "PER" else _entity_key(m) for m in mentions]
    same = _same_keys(text, mentions, keys)
    groups: dict[tuple[str, ...], list[Mention]] = {}
    for mention, key in zip(mentions, keys):
        groups.setdefault(same.get(key, key), []).append(mention)
    return list(groups.values())


def _same_keys(
    text: str, mentions: list[Mention], keys: list[tuple[str, ...]]
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


def _entity_key(mention: Mention) -> tuple[str, ...]:
    folded = fold(mention.form)
    return (mention.type, fold(ALIASES.get(folded, folded)))


def _is_full(name: Name) -> bool:
    return bool(name.first and name.last and len(name.first) > 1)


def _people(mentions: list[Mention]) -> Counter[tuple[str, str]]:
    """(first, last) of everyone named in full, folded, with how often they are."""
    return Counter(
        (fold(m.name.first or ""), fold(m.name.last or ""))
        for m in mentions
        if m.type == "PER" and _is_full(m.name)
    )


def _person_key(mention: Mention, people: Counter[tuple[str, str]]) -> tuple[str, ...]:
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
        mention.name = Name(last=mention.name.first)
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
    return bool(LATIN.search(other)) and not CYRILLIC.search(other) and bool(CYRILLIC.search(name))
