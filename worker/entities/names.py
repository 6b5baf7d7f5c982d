"""A person's name read into first, middle and last name, each in the nominative.

A name the dictionary knows is put in the nominative as it knows the name in the tagger's case;
one it does not know is declined back by the rules (``declension``). Also: where a span holds two
people side by side, and which of an article's spellings of a name are declined forms of another.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from worker.entities.declension import MASC_FEM, decline_back
from worker.entities.dictionary import NAME_GRAMMEMES, best, declinable, respell
from worker.entities.gazetteer import EAST_ASIAN_SURNAMES
from worker.entities.morph import Word
from worker.nlp import Dictionary
from worker.text import fold

ROLES = ("first", "last", "middle")

ROLE_GRAMMEMES = {"first": "Name", "middle": "Patr", "last": "Surn"}

PARTICLES = {"ле", "де", "дель", "ди", "да", "фон", "ван", "дер", "аль", "эль", "бен", "бин", "ибн"}

VOWELS = re.compile(r"[аеёиоуыэюяaeiouy]+", re.IGNORECASE)

FEMININE = re.compile(r"(?:ова|ева|ёва|ина|ына|ая)$")

APOSTROPHES = {"'", "’"}

ADJECTIVAL = re.compile(r"(?:ого|его|ому|ему|ую|ой|ей)$", re.IGNORECASE)  # "Лугового", "Толстой"


class Name(NamedTuple):
    """A person's name read into its parts, each in the nominative."""

    first: str | None = None
    last: str | None = None
    middle: str | None = None
    surname_first: bool = False  # "Си Цзиньпин"

    def full(self) -> str:
        """The name written out, initials with a dot: "В. В. Путин", "Пан Ги Мун"."""
        order = (self.last, self.first, self.middle) if self.surname_first else self.parts()
        return " ".join(f"{p}." if len(p) == 1 else p for p in order if p)

    def parts(self) -> tuple[str | None, str | None, str | None]:
        """(first, middle, last)."""
        return (self.first, self.middle, self.last)


def people(words: list[Word], dictionary: Dictionary) -> list[int]:
    """Where a PER span holds two people side by side ("Сталину Вертинский", "Хельмута Риллинга
    Эдисон Денисов"): the indices of the words that start a new name. The words of one name agree
    in case; two neighbours are cut apart when the tagger reads them in different cases, the
    dictionary agrees with it on each, and one of them cannot be in the other's case."""
    return [
        k
        for k in range(1, len(words))
        if words[k - 1].case
        and words[k].case
        and words[k - 1].case != words[k].case
        and _may_be(words[k - 1], words[k - 1].case, dictionary)
        and _may_be(words[k], words[k].case, dictionary)
        and not (
            _can_be(words[k - 1], words[k].case, dictionary)
            and _can_be(words[k], words[k - 1].case, dictionary)
        )
    ]


def _may_be(word: Word, case: str, dictionary: Dictionary) -> bool:
    """Is the tagger's ``case`` for ``word`` credible? For a word the dictionary knows, if it
    knows it as a name in that case; for another, unless it is the nominative, the tagger's guess
    for what it does not know."""
    return _can_be(word, case, dictionary) if dictionary.known(word.text) else case != "Nom"


def _can_be(word: Word, case: str, dictionary: Dictionary) -> bool:
    """Can ``word`` be a name in ``case`` (as far as the dictionary knows)?"""
    return not dictionary.known(word.text) or any(
        NAME_GRAMMEMES & f.tag.grammemes and f.feats.get("Case") == case
        for f in dictionary.forms(word.text)
    )


def person(words: list[Word], dictionary: Dictionary) -> Name:
    """A person's name read into its parts, each in the nominative. The order is the news order
    "Имя Отчество Фамилия" (words between the first and the last name are middle names), or
    "Фамилия Имя Отчество" when the last two are a first name and a patronymic; an East Asian
    name starts with the surname; initials stand for a first or a middle name; particles ("бин",
    "фон") belong to the surname; a lone word is a first name only if the dictionary knows it as
    one and not as a surname."""
    words = _glue([w for w in words if w.text != "."])
    if not words:
        return Name()
    roles = _roles([w.text for w in words], dictionary)
    gender = _gender(words, roles, dictionary)
    case = _case(words, roles, dictionary)
    parts: dict[str, list[str]] = {}
    for word, role in zip(words, roles):
        own = word.case if word.case not in (None, "Nom") else case or word.case
        parts.setdefault(role, []).append(_name_word(word.text, own, role, gender, dictionary))
    first, last, middle = (" ".join(parts[r]) if r in parts else None for r in ROLES)
    return Name(first, last, middle, surname_first=roles[0] == "last" and len(roles) > 1)


def _glue(words: list[Word]) -> list[Word]:
    """Words the tokenizer split at an apostrophe are one: "О’Рейли"."""
    out: list[Word] = []
    for word in words:
        if out and not word.space and (word.text in APOSTROPHES or out[-1].text[-1] in APOSTROPHES):
            out[-1] = Word(out[-1].text + word.text, out[-1].pos, out[-1].feats, out[-1].space)
        else:
            out.append(word)
    return out


def _case(words: list[Word], roles: list[str], dictionary: Dictionary) -> str | None:
    """The case of a whole name, where the dictionary confirms the tagger on its first name (the
    tagger often reads an unknown surname as nominative: "Модестом Колеровым")."""
    for word, role in zip(words, roles):
        if role == "first" and word.case and _has_reading(word.text, "Name", word.case, dictionary):
            return word.case
    return None


def _has_reading(text: str, grammeme: str, case: str, dictionary: Dictionary) -> bool:
    return dictionary.known(text) and any(
        f.feats.get("Case") == case and grammeme in f.tag.grammemes for f in dictionary.forms(text)
    )


def _roles(texts: list[str], dictionary: Dictionary) -> list[str]:
    if fold(texts[0]) in PARTICLES:  # "де Голля"
        return ["last"] * len(texts)
    if len(texts) == 1:
        return ["first" if _is_first_name(texts[0], dictionary) else "last"]
    if _east_asian(texts[0]) and all(len(VOWELS.findall(t[:-1])) <= 2 for t in texts[1:]):
        return ["last"] + ["first"] * (len(texts) - 1)
    if (
        len(texts) == 3
        and _is_first_name(texts[1], dictionary)
        and dictionary.has(texts[2], "Patr")
    ):
        return ["last", "first", "middle"]
    if len(texts) == 2:
        return ["first", "middle" if _patronymic_only(texts[1], dictionary) else "last"]
    roles = ["first"] + ["middle"] * (len(texts) - 2) + ["last"]
    k = len(texts) - 2  # particles before the surname are part of it ("Усама бин Ладен")
    while k > 0 and fold(texts[k]) in PARTICLES:
        roles[k] = "last"
        k -= 1
    return roles


def _east_asian(text: str) -> bool:
    """Is ``text`` a frequent East Asian surname, maybe declined ("Кима", "Паном")?"""
    word = fold(text)
    return word in EAST_ASIAN_SURNAMES or any(
        word.endswith(ending) and word[: -len(ending)] in EAST_ASIAN_SURNAMES
        for ending in ("а", "у", "ом", "е")
    )


def _is_initial(text: str) -> bool:
    return len(text) == 1 and text.isupper()


def _is_first_name(text: str, dictionary: Dictionary) -> bool:
    """Is the likeliest reading of ``text`` a first name, and none a surname ("Леонидов")?"""
    return (
        dictionary.known(text)
        and "Name" in dictionary.forms(text)[0].tag.grammemes
        and not dictionary.has(text, "Surn")
    )


def _patronymic_only(text: str, dictionary: Dictionary) -> bool:
    """Is ``text`` a patronymic and not a surname? "Матвеевич" is, "Абрамович" is not."""
    return dictionary.has(text, "Patr") and not dictionary.has(text, "Surn")


def _gender(words: list[Word], roles: list[str], dictionary: Dictionary) -> str | None:
    """The person's gender: of the first name's dictionary reading, else as the tagger reads it."""
    for word, role in zip(words, roles):
        if role == "first" and dictionary.known(word.text):
            readings = [f for f in dictionary.forms(word.text) if "Name" in f.tag.grammemes]
            form = best(readings, word.feats)
            if form is not None and form.feats.get("Gender") in ("Masc", "Fem"):
                return form.feats["Gender"]
    genders = [w.feats.get("Gender") for w in words if w.feats.get("Gender")]
    return max(set(genders), key=genders.count) if genders else None


def _name_word(
    text: str, case: str | None, role: str, gender: str | None, dictionary: Dictionary
) -> str:
    if _is_initial(text) or fold(text) in PARTICLES:
        return text
    return "-".join(
        _name_part(part, case, gender, role, dictionary) if part[:1].isupper() else part
        for part in text.split("-")
    )


def _name_part(
    text: str, case: str | None, gender: str | None, role: str, dictionary: Dictionary
) -> str:
    """One word of a name in the nominative: as the dictionary knows the name in that case, or
    ("Лугового") an adjective, else declined back by the rules, else as the dictionary knows it in
    any case ("Вертинскому" read as instrumental), else as it stands."""
    if not declinable(text):
        return text
    known = dictionary.known(text)
    names = (
        [f for f in dictionary.forms(text) if ROLE_GRAMMEMES[role] in f.tag.grammemes]
        if known
        else []
    )
    if case in (None, "Nom"):  # unless the dictionary knows no such nominative ("Вертинскому")
        if not names or any(f.feats.get("Case") == "Nom" for f in names):
            return text
        case = best(names, {}).feats.get("Case")
    feats = {"Case": case, **({"Gender": gender} if gender else {})}
    adjectival = known and role == "last" and ADJECTIVAL.search(text)
    adjectives = [f for f in dictionary.forms(text) if f.pos == "ADJ"] if adjectival else []
    for readings in (names, adjectives):
        form = best(readings, feats)
        if form is not None and form.feats.get("Case") == case:
            return respell(text, form)
    declined = decline_back(text, case, gender)
    if declined:
        return declined
    form = best(names, feats)
    return respell(text, form) if form is not None else text


def unify(names: set[str]) -> dict[str, str]:
    """Of the names an article spells in several forms, the declined ones to the one they are
    declined from: {"Валруса": "Валрус"} when the tagger misread "Валруса" as a nominative in one
    sentence and the article also has "Валрус"."""
    out = {}
    for name in names:
        if FEMININE.search(name):  # "Турова" may be a woman, not the genitive of "Туров"
            continue
        sources = {
            decline_back(name, case, gender)
            for case in ("Gen", "Dat", "Acc", "Ins", "Loc")
            for gender in MASC_FEM
        }
        found = sorted(sources & names - {name})
        if len(found) == 1:
            out[name] = found[0]
    return out
