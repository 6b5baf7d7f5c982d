"""Normal forms: a span in the nominative, a person's name read into first, middle and last name.

A word is put in the nominative with pymorphy's dictionary (natasha's ``MorphVocab``); the morph
tagger's reading of the word in its sentence (case, number, gender) chooses among the dictionary's
readings. Names the dictionary does not know ("Карасиным", "Райкконена", "Лагард") are declined
back by the rules of Russian name declension, which also tell the indeclinable ones ("Шкрели",
"Бхутто", a woman's "Меркель") from the others. Only a word's ending ever changes: the nominative
keeps the spelling of the text, its capitals and its ё ("Сёмина" → "Сёмин").

The tagger (three convolutions of width 3 over words) is run only on a window of ``CONTEXT`` words
either side of each span, that being all the context its tags can depend on, and not at all for a
lone word the dictionary knows with one lemma ("России"): there it could change nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from slovnet.conll import parse_conll_tag

from worker.gazetteer import EAST_ASIAN_SURNAMES
from worker.models import Models, get_models
from worker.spans import Token, fold, scores

CONTEXT = 3
NOUNS = {"NOUN", "PROPN"}
ADJECTIVES = {"ADJ", "DET", "VERB", "NUM"}  # VERB: participles ("Соединённых")
ROLES = ("first", "last", "middle")
ROLE_GRAMMEMES = {"first": "Name", "middle": "Patr", "last": "Surn"}
NAME_GRAMMEMES = {"Name", "Surn", "Patr"}
PARTICLES = {"ле", "де", "дель", "ди", "да", "фон", "ван", "дер", "аль", "эль", "бен", "бин", "ибн"}
VOWELS = re.compile(r"[аеёиоуыэюяaeiouy]+", re.IGNORECASE)
CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
HISSING = "жшчщц"
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


@dataclass(frozen=True)
class Word:
    """A word of a span and the tagger's reading of it in context."""

    text: str
    pos: str = "X"
    feats: Mapping[str, str] = field(default_factory=dict)
    space: str = ""  # the space before it in the span

    @property
    def case(self) -> str | None:
        return self.feats.get("Case")


# --- tagging ----------------------------------------------------------------------------------


def tag(tokens: list[Token], ranges: Sequence[tuple[int, int]], models: Models) -> list[list[Word]]:
    """The words of each token range with the tagger's reading of them; the tagger sees only the
    window it needs around each range, and nothing of a range with no declinable word."""
    windows = []
    for i, j in ranges:
        lo, hi = (i, i) if j - i == 1 and _plain(tokens[i].text) else _window(tokens, i, j)
        windows.append((i - lo, j - lo, tuple(token.text for token in tokens[lo:hi])))
    unique = list(dict.fromkeys(words for *_, words in windows if words))
    tagger = models.morph_tagger
    decode = tagger.infer.decoder.tags_vocab.decode
    best = dict(zip(unique, (s.argmax(-1).tolist() for s in scores(tagger, unique))))
    out = []
    for (i, j), (a, b, words) in zip(ranges, windows):
        spaces = [""] + [" " * (t.start - p.stop) for p, t in zip(tokens[i:j], tokens[i + 1 : j])]
        if words:
            tags = [parse_conll_tag(decode(k)) for k in best[words][a:b]]
        else:
            plain = [_plain(token.text) for token in tokens[i:j]]
            tags = [(form.pos, form.feats) if form else ("X", {}) for form in plain]
        out.append(
            [
                Word(token.text, pos, feats, space)
                for token, (pos, feats), space in zip(tokens[i:j], tags, spaces)
            ]
        )
    return out


def _plain(text: str) -> Any:
    """The reading of a lone word the dictionary knows with one lemma and number and not as a
    name ("России", "Штатов"): the tagger could add nothing to its nominative."""
    if not declinable(text) or not _known(text):
        return None
    forms = _forms(text)
    if len({(f.normal, f.feats.get("Number")) for f in forms}) > 1 or any(
        NAME_GRAMMEMES & f.tag.grammemes for f in forms
    ):
        return None
    return forms[0]


def _window(tokens: list[Token], i: int, j: int) -> tuple[int, int]:
    """The tokens the tagger needs to tag tokens[i:j]; none if no word there can decline."""
    if not any(declinable(token.text) for token in tokens[i:j]):
        return i, i
    lo, hi = max(0, i - CONTEXT), min(len(tokens), j + CONTEXT)
    while tokens[lo].sent != tokens[i].sent:
        lo += 1
    while tokens[hi - 1].sent != tokens[j - 1].sent:
        hi -= 1
    return lo, hi


def declinable(word: str) -> bool:
    """Could ``word`` be in an oblique case? Not "США", "BP" or "2017"."""
    return not word.isupper() and bool(CYRILLIC.search(word))


# --- places and organisations -----------------------------------------------------------------


def phrase(words: list[Word]) -> str:
    """A place's or an organisation's name with the head noun and the words that agree with it
    in the nominative; what follows the head stays ("Соединённых Штатов Америки" → "Соединённые
    Штаты Америки"); a name that is a prepositional phrase ("В Контакте") stays."""
    if not words or words[0].pos == "ADP":
        return "".join(word.space + word.text for word in words)
    head = next((k for k, w in enumerate(words) if w.pos in NOUNS), len(words) - 1)
    out = []
    for k, word in enumerate(words):
        if k > head or word.pos == "ADP":
            out.extend(w.space + w.text for w in words[k:])
            break
        out.append(word.space + _phrase_word(word, _agreeing(word, words[head])))
    return "".join(out)


def _agreeing(word: Word, head: Word) -> dict[str, str]:
    """The features ``word`` has as part of the phrase ``head`` heads: its own case (the head's
    if the tagger gave it none); an adjective's gender and number are the head's."""
    feats = {**head.feats, **word.feats} if "Case" not in word.feats else dict(word.feats)
    if word.pos in ADJECTIVES:
        feats.update({k: head.feats[k] for k in ("Gender", "Number") if k in head.feats})
    return feats


def _phrase_word(word: Word, feats: Mapping[str, str]) -> str:
    if "-" not in word.text or _known(word.text):
        return _word_nominative(word.text, word.pos, feats)
    parts = word.text.split("-")
    # "Северо-Кавказском": the last part declines; "Ростова-на-Дону": the one before "на"
    k = next((i - 1 for i, part in enumerate(parts) if part.islower() and i > 0), len(parts) - 1)
    parts[k] = _word_nominative(parts[k], word.pos, feats)
    return "-".join(parts)


def _word_nominative(text: str, pos: str, feats: Mapping[str, str]) -> str:
    """A word of a place's or an organisation's name in the nominative: as the dictionary knows
    it (not as a person's name: "Бенрате" is no "Бенрата"); a word it does not know declined
    back by the rules, or left as it is."""
    case = feats.get("Case")
    if not declinable(text) or case in (None, "Nom"):
        return text
    if not _known(text):
        return decline_back(text, case, feats.get("Gender")) or text
    forms = list(_forms(text))
    forms = [f for f in forms if not NAME_GRAMMEMES & f.tag.grammemes] or forms
    forms = [f for f in forms if _same_family(f.pos, pos)] or forms
    return _respell(text, _best(forms, feats))


def _same_family(form_pos: str, pos: str) -> bool:
    if pos in NOUNS:
        return form_pos in NOUNS
    if pos in ADJECTIVES:
        return form_pos in ADJECTIVES
    return True


# --- people -----------------------------------------------------------------------------------


def people(words: list[Word]) -> list[int]:
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
        and _may_be(words[k - 1], words[k - 1].case)
        and _may_be(words[k], words[k].case)
        and not (_can_be(words[k - 1], words[k].case) and _can_be(words[k], words[k - 1].case))
    ]


def _may_be(word: Word, case: str) -> bool:
    """Is the tagger's ``case`` for ``word`` credible? For a word the dictionary knows, if it
    knows it as a name in that case; for another, unless it is the nominative, the tagger's guess
    for what it does not know."""
    return _can_be(word, case) if _known(word.text) else case != "Nom"


def _can_be(word: Word, case: str) -> bool:
    """Can ``word`` be a name in ``case`` (as far as the dictionary knows)?"""
    return not _known(word.text) or any(
        NAME_GRAMMEMES & f.tag.grammemes and f.feats.get("Case") == case for f in _forms(word.text)
    )


def person(words: list[Word]) -> Name:
    """A person's name read into its parts, each in the nominative. The order is the news order
    "Имя Отчество Фамилия" (words between the first and the last name are middle names), or
    "Фамилия Имя Отчество" when the last two are a first name and a patronymic; an East Asian
    name starts with the surname; initials stand for a first or a middle name; particles ("бин",
    "фон") belong to the surname; a lone word is a first name only if the dictionary knows it as
    one and not as a surname."""
    words = _glue([w for w in words if w.text != "."])
    if not words:
        return Name()
    roles = _roles([w.text for w in words])
    gender = _gender(words, roles)
    case = _case(words, roles)
    parts: dict[str, list[str]] = {}
    for word, role in zip(words, roles):
        own = word.case if word.case not in (None, "Nom") else case or word.case
        parts.setdefault(role, []).append(_name_word(word.text, own, role, gender))
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


def _case(words: list[Word], roles: list[str]) -> str | None:
    """The case of a whole name, where the dictionary confirms the tagger on its first name (the
    tagger often reads an unknown surname as nominative: "Модестом Колеровым")."""
    for word, role in zip(words, roles):
        if role == "first" and word.case and _has_reading(word.text, "Name", word.case):
            return word.case
    return None


def _has_reading(text: str, grammeme: str, case: str) -> bool:
    return _known(text) and any(
        f.feats.get("Case") == case and grammeme in f.tag.grammemes for f in _forms(text)
    )


def _roles(texts: list[str]) -> list[str]:
    if fold(texts[0]) in PARTICLES:  # "де Голля"
        return ["last"] * len(texts)
    if len(texts) == 1:
        return ["first" if _is_first_name(texts[0]) else "last"]
    if _east_asian(texts[0]) and all(len(VOWELS.findall(t[:-1])) <= 2 for t in texts[1:]):
        return ["last"] + ["first"] * (len(texts) - 1)
    if len(texts) == 3 and _is_first_name(texts[1]) and _has(texts[2], "Patr"):
        return ["last", "first", "middle"]
    if len(texts) == 2:
        return ["first", "middle" if _patronymic_only(texts[1]) else "last"]
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


def _is_first_name(text: str) -> bool:
    """Is the likeliest reading of ``text`` a first name, and none a surname ("Леонидов")?"""
    return _known(text) and "Name" in _forms(text)[0].tag.grammemes and not _has(text, "Surn")


def _patronymic_only(text: str) -> bool:
    """Is ``text`` a patronymic and not a surname? "Матвеевич" is, "Абрамович" is not."""
    return _has(text, "Patr") and not _has(text, "Surn")


def _has(text: str, grammeme: str) -> bool:
    """Has the dictionary a reading of ``text`` with ``grammeme``?"""
    return _known(text) and any(grammeme in f.tag.grammemes for f in _forms(text))


def _gender(words: list[Word], roles: list[str]) -> str | None:
    """The person's gender: of the first name's dictionary reading, else as the tagger reads it."""
    for word, role in zip(words, roles):
        if role == "first" and _known(word.text):
            readings = [f for f in _forms(word.text) if "Name" in f.tag.grammemes]
            form = _best(readings, word.feats)
            if form is not None and form.feats.get("Gender") in ("Masc", "Fem"):
                return form.feats["Gender"]
    genders = [w.feats.get("Gender") for w in words if w.feats.get("Gender")]
    return max(set(genders), key=genders.count) if genders else None


def _name_word(text: str, case: str | None, role: str, gender: str | None) -> str:
    if _is_initial(text) or fold(text) in PARTICLES:
        return text
    return "-".join(
        _name_part(part, case, gender, role) if part[:1].isupper() else part
        for part in text.split("-")
    )


def _name_part(text: str, case: str | None, gender: str | None, role: str) -> str:
    """One word of a name in the nominative: as the dictionary knows the name in that case, or
    ("Лугового") an adjective, else declined back by the rules, else as the dictionary knows it in
    any case ("Вертинскому" read as instrumental), else as it stands."""
    if not declinable(text):
        return text
    known = _known(text)
    names = [f for f in _forms(text) if ROLE_GRAMMEMES[role] in f.tag.grammemes] if known else []
    if case in (None, "Nom"):  # unless the dictionary knows no such nominative ("Вертинскому")
        if not names or any(f.feats.get("Case") == "Nom" for f in names):
            return text
        case = _best(names, {}).feats.get("Case")
    feats = {"Case": case, **({"Gender": gender} if gender else {})}
    adjectival = known and role == "last" and ADJECTIVAL.search(text)
    adjectives = [f for f in _forms(text) if f.pos == "ADJ"] if adjectival else []
    for readings in (names, adjectives):
        form = _best(readings, feats)
        if form is not None and form.feats.get("Case") == case:
            return _respell(text, form)
    declined = decline_back(text, case, gender)
    if declined:
        return declined
    form = _best(names, feats)
    return _respell(text, form) if form is not None else text


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


def decline_back(text: str, case: str, gender: str | None) -> str | None:
    """The nominative of a name in ``case`` by the rules of Russian name declension; ``None`` if
    no rule applies or the name is indeclinable."""
    low = text.lower()
    for ending, cases, genders, nominative in ENDINGS:
        if low.endswith(ending) and case in cases and (gender is None or gender in genders):
            stem = text[: len(text) - len(ending)]
            if len(stem) < 2 or not stem[-1].isalpha():
                continue
            result = nominative(stem) if callable(nominative) else stem + nominative
            if result is not None:
                return result
    return None


def _soft(stem: str) -> str:
    """The nominative of a soft-stem masculine ("Карзая" → "Карзай", "Бесселя" → "Бессель")."""
    if stem[-1].lower() in "аеёиоуыэюя":
        return stem + "й"
    return stem + "ь"


def _after_e(stem: str) -> str:
    """The nominative of an instrumental in -ем: nothing after ц and hissing consonants
    ("Хайнцем"), "й" after a vowel, "ь" after another consonant."""
    return stem if stem[-1].lower() in HISSING else _soft(stem)


def _adjectival(stem: str) -> str:
    return stem + ("ий" if stem[-1].lower() in "гкхжшчщ" or stem.lower().endswith("н") else "ый")


def _ya(stem: str) -> str | None:
    """The nominative of an instrumental in -ей: "Ильей" → "Илья"; after a consonant there is
    none ("Стингрей" is indeclinable)."""
    return stem + "я" if stem[-1].lower() in "аеёиоуыэюяь" else None


def _feminine_a(stem: str) -> str:
    """-ой/-ей/-у of a woman's name: "Иванова", "Петровская", "Марианна"."""
    if re.search(r"(?:ск|цк)$", stem, re.IGNORECASE):
        return stem + "ая"
    return stem + "а"


def _genitive_i(stem: str) -> str | None:
    """The nominative of a genitive in -и: "-а" after г, к, х ("Чайки"); after other letters the
    name is indeclinable ("Шкрели", "Берлускони", "Туччи")."""
    return stem + "а" if stem[-1].lower() in "гкх" else None


MASC_FEM = ("Masc", "Fem")
ALL_GENDERS = ("Masc", "Fem", "Neut")
# (ending, cases, genders, nominative: a suffix for the stem, or a function of the stem)
ENDINGS: tuple[tuple[str, set[str], tuple[str, ...], Any], ...] = (
    ("ского", {"Gen", "Acc"}, ("Masc",), "ский"),
    ("цкого", {"Gen", "Acc"}, ("Masc",), "цкий"),
    ("ому", {"Dat"}, ("Masc",), _adjectival),
    ("ему", {"Dat"}, ("Masc",), "ий"),
    ("ого", {"Gen", "Acc"}, ("Masc",), _adjectival),
    ("ским", {"Ins"}, ("Masc",), "ский"),
    ("цким", {"Ins"}, ("Masc",), "цкий"),
    ("ском", {"Loc"}, ("Masc",), "ский"),
    ("цком", {"Loc"}, ("Masc",), "цкий"),
    ("ской", {"Gen", "Dat", "Ins", "Loc"}, ("Fem",), "ская"),
    ("цкой", {"Gen", "Dat", "Ins", "Loc"}, ("Fem",), "цкая"),
    ("скую", {"Acc"}, ("Fem",), "ская"),
    ("ым", {"Ins"}, ("Masc",), ""),
    ("ом", {"Ins"}, ("Masc",), ""),
    ("ем", {"Ins"}, ("Masc",), _after_e),
    ("ём", {"Ins"}, ("Masc",), _soft),
    ("ой", {"Gen", "Dat", "Ins", "Loc"}, ("Fem",), _feminine_a),
    ("ой", {"Ins"}, ("Masc",), "а"),
    ("ией", {"Gen", "Dat", "Ins", "Loc"}, ("Fem",), "ия"),
    ("ей", {"Ins"}, ("Masc",), _ya),
    ("ую", {"Acc"}, ("Fem",), "ая"),
    ("у", {"Acc"}, MASC_FEM, _feminine_a),
    ("ю", {"Acc"}, MASC_FEM, "я"),
    ("у", {"Dat"}, ("Masc",), ""),
    ("ю", {"Dat"}, ("Masc",), _soft),
    ("ии", {"Gen", "Dat", "Loc"}, ALL_GENDERS, "ия"),
    ("ье", {"Loc"}, ALL_GENDERS, "ье"),
    ("ы", {"Gen"}, MASC_FEM, "а"),
    ("и", {"Gen"}, MASC_FEM, _genitive_i),
    ("е", {"Dat"}, MASC_FEM, "а"),
    ("е", {"Loc"}, ("Masc",), ""),
    ("е", {"Loc"}, ("Fem",), "а"),
    ("а", {"Gen", "Acc"}, ("Masc",), ""),
    ("я", {"Gen", "Acc"}, ("Masc",), _soft),
)


# --- the dictionary ---------------------------------------------------------------------------


@lru_cache(maxsize=16384)
def _forms(text: str) -> tuple[Any, ...]:
    return tuple(get_models().morph_vocab.parse(text.lower()))


@lru_cache(maxsize=16384)
def _known(text: str) -> bool:
    return get_models().morph_vocab.word_is_known(text.lower())


def _best(forms: Sequence[Any], feats: Mapping[str, str]) -> Any:
    """The reading that agrees best with the tagger's case, gender and number, then likeliest."""
    if not forms:
        return None

    def rank(form: Any) -> tuple[bool, bool, bool, float]:
        return (
            form.feats.get("Case") == feats.get("Case"),
            form.feats.get("Gender") == feats.get("Gender"),
            form.feats.get("Number") == feats.get("Number"),
            form.score,
        )

    return max(forms, key=rank)


def _respell(text: str, form: Any) -> str:
    """``form`` in the nominative, spelt as ``text`` is: only the ending is the dictionary's."""
    nominative = _nominative_form(form)
    if nominative is None:
        return text
    common = _common_prefix(fold(form.word), fold(nominative.word))
    common = min(common, len(text))
    ending = nominative.word[common:]
    if "ё" not in text.lower():
        ending = ending.replace("ё", "е")
    if text.isupper():
        ending = ending.upper()
    return text[:common] + ending


@lru_cache(maxsize=4096)  # inflecting builds the whole lexeme
def _nominative_form(form: Any) -> Any:
    """The nominative of ``form``'s word with its other grammemes; of a superlative's several
    ("высший", "высочайший"), the one nearest to the word."""
    if not {"Supr", "Cmp2"} & form.tag.grammemes:
        return form.inflect({"Nom"})
    rest = form.tag.grammemes - {form.tag.case, "anim", "inan"}
    same = [
        f
        for f in form.lexeme
        if f.tag.case == "nomn" and f.tag.grammemes - {"nomn", "anim", "inan"} == rest
    ]
    if not same:
        return form.inflect({"Nom"})
    word = fold(form.word)
    return max(same, key=lambda f: _common_prefix(word, fold(f.word)))


def _common_prefix(a: str, b: str) -> int:
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
