"""The rules of Russian name declension, run backwards: the nominative of a name the dictionary
does not know ("Карасиным", "Райкконена", "Лагард"), and which names are indeclinable ("Шкрели",
"Бхутто", a woman's "Меркель").
"""

from __future__ import annotations

import re
from typing import Any

HISSING = "жшчщц"


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
