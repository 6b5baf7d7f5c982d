"""Mentions: every span the NER finds (``spans``, ``repairs``) with its normal form — a person's
name read into its parts (``names``), a place's or an organisation's name put in the nominative
(``phrases``) and its type looked up (``gazetteer``). The morph tagger reads a span's words in
context once per distinct surface (``morph``), and only a window of ±3 tokens around it, instead
of morph-tagging the whole article (natasha's ``Doc`` pipeline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from worker.entities import names, phrases, repairs, spans
from worker.entities.gazetteer import TYPES
from worker.entities.morph import Word, tag
from worker.entities.names import Name
from worker.nlp import Dictionary, Nlp
from worker.text import Token, fold


@dataclass
class Mention:
    start: int  # offsets into the text
    stop: int
    type: str
    form: str  # the normal form of this mention
    name: Name = field(default_factory=Name)


def find(text: str, tokens: list[Token], nlp: Nlp) -> list[Mention]:
    """Every span the NER finds among the ``tokens`` of ``text``, repaired, with its normal form
    (computed once per distinct surface)."""
    found = repairs.repair(tokens, spans.tagged(tokens, nlp), nlp.dictionary)
    first: dict[tuple[str, str], tuple[int, int]] = {}
    for span in found:
        first.setdefault((span.type, _surface(text, tokens, span)), (span.start, span.stop))
    tagged = tag(tokens, list(first.values()), nlp)
    readings = {key: _readings(key[0], words, nlp.dictionary) for key, words in zip(first, tagged)}
    mentions = []
    for span in found:
        for (i, j), (type_, normal_form, name) in readings[span.type, _surface(text, tokens, span)]:
            start, stop = tokens[span.start + i].start, tokens[span.start + j - 1].stop
            mentions.append(Mention(start, stop, type_, normal_form, name))
    return mentions


def _readings(
    type_: str, words: list[Word], dictionary: Dictionary
) -> list[tuple[tuple[int, int], tuple[str, str, Name]]]:
    """The mentions a span holds (word ranges; two people may stand side by side) and their
    readings."""
    if type_ != "PER":
        return [((0, len(words)), _reading(type_, words, dictionary))]
    bounds = [0, *names.people(words, dictionary), len(words)]
    return [((i, j), _reading(type_, words[i:j], dictionary)) for i, j in pairwise(bounds)]


def _surface(text: str, tokens: list[Token], span: spans.Span) -> str:
    return text[tokens[span.start].start : tokens[span.stop - 1].stop]


def _reading(type_: str, words: list[Word], dictionary: Dictionary) -> tuple[str, str, Name]:
    """(type, normal form, name parts) of a span: a person's name is read into its parts; a
    place's or an organisation's name put in the nominative and its type looked up."""
    if type_ == "PER":
        name = names.person(words, dictionary)
        return type_, name.full(), name
    nominative = phrases.phrase(words, dictionary)
    return TYPES.get(fold(nominative), type_), nominative, Name()
