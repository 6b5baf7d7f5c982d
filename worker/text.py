"""Text primitives every stage shares: tokens, sentences, ё-folding, month names, scripts.

- :func:`fold`: the form in which words and names are compared (lowercase, ё as е);
  :func:`yo_as_e` keeps the case (what slovnet's taggers read).
- :func:`sentences`: razdel's sentences with offsets, a line break always ending one;
  :func:`tokens`: razdel's tokens with offsets and their sentence; :func:`words`: the folded word
  tokens of a text. ``tokens`` runs razdel's own tokenising rules on razdel's atoms (only where
  they can join two), which it reaches in razdel's internals (``razdel.segmenters.tokenize``;
  razdel is pinned exactly in pyproject.toml). ``tests/test_contracts.py`` checks it gives
  ``razdel.tokenize``'s tokens; should that fail after an upgrade, ``razdel.tokenize`` itself is
  the drop-in replacement (slower: it builds its objects for every atom).
- :data:`MONTH_STEMS`, :data:`MONTHS`, :data:`MONTH_ABBREVIATIONS`, :func:`month_number`: Russian
  month names in any case form, and as news agencies abbreviate them ("1 дек").
- :data:`ENDS_SENTENCE`: how prose ends a sentence; :data:`CYRILLIC`, :data:`LATIN` and
  :func:`detect_language`: the script of a word, the language of a text. The language is
  py3langid's (langid.py's naive Bayes over byte n-grams, its model bundled in the wheel: 97
  languages; Bulgarian, Kazakh, Serbian, Ukrainian, Belarusian, Macedonian told from Russian).
  Its model is loaded once per process by :func:`load_language_model` (like the natasha models,
  ``worker.nlp.load_nlp``: the worker calls it before the fork, the adapters in
  ``worker.pipeline`` when their caller passes none) and handed to the stage code as an
  argument; :func:`detect_language` never loads it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from py3langid.langid import MODEL_FILE, LanguageIdentifier
from razdel import sentenize
from razdel.segmenters.punct import DASHES
from razdel.segmenters.tokenize import ATOM, Atom, TokenSplit
from razdel.segmenters.tokenize import tokenize as razdel_segmenter

# --- folding -----------------------------------------------------------------------------------


def fold(text: str) -> str:
    """The form used to compare words and names: lowercase, ё as е."""
    return text.lower().replace("ё", "е")


def yo_as_e(text: str) -> str:
    """ё as е and Ё as Е, the case kept."""
    return text.replace("ё", "е").replace("Ё", "Е")


# --- scripts and language ----------------------------------------------------------------------

CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)  # a Russian letter
LATIN = re.compile(r"[A-Za-z]")  # a basic Latin letter
_LETTER = re.compile(r"[^\W\d_]")
_MIN_LETTERS = 20  # fewer letters than this: "und"
_MIN_PROBABILITY = 0.5  # a guess less sure than this: "und"


@functools.cache
def load_language_model() -> LanguageIdentifier:
    """py3langid's bundled model, probabilities normalised (~2 s): loaded the first time, the
    same object to every later caller in the process. Stage code never calls it."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, model: LanguageIdentifier, sample: int = 1_500) -> str:
    """The ISO 639-1 code of the language of (the start of) ``text``, e.g. 'ru', 'uk', 'en', by
    ``model`` (:func:`load_language_model`); 'und' when it has too few letters or the model is
    unsure."""
    text = text[:sample]
    if len(_LETTER.findall(text)) < _MIN_LETTERS:
        return "und"
    language, probability = model.classify(text)
    return language if probability >= _MIN_PROBABILITY else "und"


# --- months ------------------------------------------------------------------------------------

# The start every case form of a month's name has ("ма" alone: май, мая, мае, маю, маем).
MONTH_STEMS = ("январ", "феврал", "март", "апрел", "ма", "июн", "июл", "август", "сентябр",
               "октябр", "ноябр", "декабр")  # fmt: skip
# A regex alternation: the start of a month's name in any case ("ноябре", "мая").
MONTHS = "|".join("ма[йяею]" if stem == "ма" else stem for stem in MONTH_STEMS)
# A regex alternation: the abbreviations of a dateline ("1 дек", "2 мая"); the rest may follow.
MONTH_ABBREVIATIONS = "|".join("ма[йя]" if stem == "ма" else stem[:3] for stem in MONTH_STEMS)


def month_number(word: str) -> int | None:
    """1..12 for a word that starts like a month's name ("января" → 1), else None."""
    low = word.lower()
    return next((i for i, stem in enumerate(MONTH_STEMS, 1) if low.startswith(stem)), None)


# --- sentences and tokens ----------------------------------------------------------------------

# Prose ends a sentence: . ! ? … maybe followed by closing quotes or brackets.
ENDS_SENTENCE = re.compile(r"[.!?…][»\"“”’')\]]*$")


@dataclass(frozen=True)
class Sentence:
    start: int  # offsets into the text
    stop: int
    text: str


class Token(NamedTuple):  # a tuple: an article has hundreds, made fast
    start: int  # offsets into the text
    stop: int
    text: str
    sent: int  # index of its sentence


def sentences(text: str) -> list[Sentence]:
    """razdel sentences with offsets into ``text``; a line break always ends a sentence."""
    out = []
    for line in re.finditer(r"[^\n]+", text):
        for sent in sentenize(line.group()):
            if sent.text.strip():
                start = line.start() + sent.start
                out.append(Sentence(start, start + len(sent.text), sent.text))
    return out


def tokens(text: str) -> list[Token]:
    """razdel tokens of ``text``, with offsets and the index of their sentence."""
    return [
        Token(sent.start + start, sent.start + stop, sent.text[start:stop], index)
        for index, sent in enumerate(sentences(text))
        for start, stop in token_bounds(sent.text)
    ]


def token_bounds(text: str) -> Iterator[tuple[int, int]]:
    """(start, stop) of razdel's tokens of ``text``: its atoms joined by its rules, which it asks
    only where two atoms touch (a space always parts tokens) and one of them is a mark a rule can
    join (:func:`_may_join`). razdel builds its objects for every atom and every split; this only
    for the atoms the rules read, each once."""
    matches = list(ATOM.finditer(text))
    starts = [m.start() for m in matches]
    stops = [m.end() for m in matches]
    atoms: dict[int, Atom] = {}
    first = 0  # the atom the current token starts with
    for k in range(1, len(matches) + 1):
        if k < len(matches) and starts[k] == stops[k - 1] and _may_join(*matches[k - 1 : k + 1]):
            near = []
            for i in range(max(0, k - 3), min(len(matches), k + 3)):  # the rules see 3 each side
                atom = atoms.get(i)
                if atom is None:
                    m = matches[i]
                    atom = atoms[i] = Atom(starts[i], stops[i], m.lastgroup, m.group())
                near.append(atom)
            cut = k - max(0, k - 3)
            split = TokenSplit(near[:cut], "", near[cut:])
            split.buffer = text[starts[first] : stops[k - 1]]
            if razdel_segmenter.join(split):
                continue
        yield starts[first], stops[k - 1]
        first = k


# razdel's rules (``razdel.segmenters.tokenize.RULES``) join two touching atoms only if one is a
# punctuation mark or another sign (an OTHER atom): both marks (``punct``: "?!", ":-)"), a sign
# and a letter (``other``: "ΔP"), a dash or an underscore between words (``dash``,
# ``underscore``: "кто-то"), a dot, comma or slash between numbers (``float``, ``fraction``:
# "1.5", "3/4"), "!" after "yahoo". Of a mark and a word or a number touching, only these.
_WORDS = {"RU", "LAT", "INT"}
_JOINS_WORDS = frozenset(DASHES + "_!")
_JOINS_NUMBERS = _JOINS_WORDS | frozenset(".,/\\")


def _may_join(left: re.Match, right: re.Match) -> bool:
    """May razdel's rules join these two touching atoms? (False: none of them can.)"""
    a, b = left.lastgroup, right.lastgroup
    if a in _WORDS:
        if b in _WORDS:
            return False
        if b == "PUNCT":
            return right.group() in (_JOINS_NUMBERS if a == "INT" else _JOINS_WORDS)
    elif a == "PUNCT" and b in _WORDS:
        return left.group() in (_JOINS_NUMBERS if b == "INT" else _JOINS_WORDS)
    return True


_ALNUM = re.compile(r"[^\W_]")  # a letter or digit (str.isalnum)


def words(text: str) -> list[str]:
    """Word tokens (razdel's, see :func:`token_bounds`), folded; punctuation dropped."""
    found = (text[start:stop] for start, stop in token_bounds(text))
    return [fold(word) for word in found if _ALNUM.search(word)]
