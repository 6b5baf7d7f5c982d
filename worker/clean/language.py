"""The language of a text: py3langid (langid.py's naive Bayes over byte n-grams, its model
bundled in the wheel: 97 languages, Bulgarian, Kazakh, Serbian, Ukrainian, Belarusian and
Macedonian told from Russian). The model loads once per process (:func:`identifier`; the
worker's :func:`~worker.clean.warm_up` loads it before forking)."""

from __future__ import annotations

import functools
import re

from py3langid.langid import MODEL_FILE, LanguageIdentifier

_LETTER = re.compile(r"[^\W\d_]")
_MIN_LETTERS = 20  # fewer letters than this: "und"
_MIN_PROBABILITY = 0.5  # a guess less sure than this: "und"


@functools.cache
def identifier() -> LanguageIdentifier:
    """py3langid's bundled model, probabilities normalised (loaded on first use, ~2 s)."""
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str, sample: int = 20_000) -> str:
    """The ISO 639-1 code of the language of (the start of) ``text``, e.g. 'ru', 'uk', 'en';
    'und' when it has too few letters or the model is unsure."""
    text = text[:sample]
    if len(_LETTER.findall(text)) < _MIN_LETTERS:
        return "und"
    language, probability = identifier().classify(text)
    return language if probability >= _MIN_PROBABILITY else "und"
