"""Readings from pymorphy's dictionary (``worker.nlp.Dictionary``): the one that agrees best with
the tagger, put in the nominative and spelt as the text spells the word.

Only a word's ending ever changes: the nominative keeps the spelling of the text, its capitals
and its ё ("Сёмина" → "Сёмин").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from worker.text import CYRILLIC, fold, yo_as_e

NAME_GRAMMEMES = {"Name", "Surn", "Patr"}


def declinable(word: str) -> bool:
    """Could ``word`` be in an oblique case? Not "США", "BP" or "2017"."""
    return not word.isupper() and bool(CYRILLIC.search(word))


def best(forms: Sequence[Any], feats: Mapping[str, str]) -> Any:
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


def respell(text: str, form: Any) -> str:
    """``form`` in the nominative, spelt as ``text`` is: only the ending is the dictionary's."""
    nominative = _nominative_form(form)
    if nominative is None:
        return text
    common = common_prefix(fold(form.word), fold(nominative.word))
    common = min(common, len(text))
    ending = nominative.word[common:]
    if "ё" not in text.lower():
        ending = yo_as_e(ending)
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
    return max(same, key=lambda f: common_prefix(word, fold(f.word)))


def common_prefix(a: str, b: str) -> int:
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
