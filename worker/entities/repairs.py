"""The NER model's systematic errors repaired, each rule aimed at an error class measured on
factRuEval (``worker.evaluate.ner``; the gain of each is in the issue's closing note):

- a span never runs across a sentence or a line, nor across list separators ("Чили • Перу");
- a name followed by another in brackets is two spans ("ФАС (Federal Antimonopoly Service)",
  "Скотт Хоровитц (Scott Horowitz)");
- a company's legal form and quotes are not part of its name: "ОАО «Газпром»" → "Газпром";
- punctuation at a span's edges that nothing inside it balances is cut off;
- abbreviations of common nouns ("СМИ") are no names, nor is a lone common word that has a
  capital only because it opens a sentence ("Супруга", "Власть");
- a name tagged once is tagged wherever else the text spells it the same way.
"""

from __future__ import annotations

import re
from dataclasses import replace

from worker.entities.gazetteer import LEGAL_FORMS, NOT_NAMES
from worker.entities.spans import Span
from worker.nlp import Dictionary
from worker.text import LATIN, Token, fold

QUOTES = {"«", '"', "„", "“"}
OPENING = {*QUOTES, "("}
CLOSING = {"»", '"', "“", "”", ")"}
SEPARATORS = {"•", "·", "|", ";", ",", ":", "?", "[", "]"}
WORD = re.compile(r"\w")
PROPER = {"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr", "Init"}  # pymorphy grammemes


def repair(tokens: list[Token], spans: list[Span], dictionary: Dictionary) -> list[Span]:
    """Every repair, in order."""
    for fix in (
        split_at_breaks,
        split_parentheses,
        drop_legal_forms,
        trim_punctuation,
        drop_common_nouns,
    ):
        spans = fix(tokens, spans)
    spans = drop_sentence_initial_words(tokens, spans, dictionary)
    return propagate(tokens, spans)


def split_at_breaks(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """No span crosses a sentence end, a line break or a list separator."""
    out = []
    for span in spans:
        start = span.start
        for i in range(span.start, span.stop):
            if tokens[i].text in SEPARATORS:
                out.append(replace(span, start=start, stop=i))
                start = i + 1
            elif i > start and tokens[i].sent != tokens[i - 1].sent:
                out.append(replace(span, start=start, stop=i))
                start = i
        out.append(replace(span, start=start))
    return [span for span in out if span.stop > span.start]


def split_parentheses(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """A name and another in brackets after it are two spans: what stands before the bracket and
    what it holds."""
    out = []
    for span in spans:
        start = span.start
        for i in range(span.start, span.stop):
            if tokens[i].text in "()":
                out.append(replace(span, start=start, stop=i))
                start = i + 1
        out.append(replace(span, start=start))
    return [span for span in out if span.stop > span.start]


def drop_legal_forms(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """An ORG's name is what the quotes after its legal form or kind ("ОАО", "концерн", "газета")
    hold: "ОАО «НК „Роснефть“»" → "Роснефть"."""
    out = []
    for span in spans:
        start = span.start
        if span.type == "ORG":
            i = start
            while i < span.stop - 1 and fold(tokens[i].text) in LEGAL_FORMS:
                i += 1
                if tokens[i].text in QUOTES and i < span.stop - 1:
                    i += 1
                    start = i
                elif LATIN.match(tokens[i].text):  # "Корпорация Philips"
                    start = i
        out.append(replace(span, start=start))
    return out


def trim_punctuation(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """Cut punctuation at the edges of a span unless it closes a bracket or quote inside it."""
    out = []
    for span in spans:
        start, stop = span.start, span.stop
        while start < stop and not WORD.search(tokens[start].text):
            start += 1
        while start < stop and not WORD.search(tokens[stop - 1].text):
            if tokens[stop - 1].text in CLOSING and _opened(tokens[start : stop - 1]):
                break
            if tokens[stop - 1].text in "!?" and _quoted(tokens, start, stop):
                break  # «Живи!»
            stop -= 1
        if stop > start:
            out.append(replace(span, start=start, stop=stop))
    return out


def _quoted(tokens: list[Token], start: int, stop: int) -> bool:
    """Do quotes stand right before and after tokens[start:stop]?"""
    return (
        start > 0
        and stop < len(tokens)
        and tokens[start - 1].text in OPENING
        and tokens[stop].text in CLOSING
    )


def _opened(tokens: list[Token]) -> bool:
    depth = 0
    for token in tokens:
        if token.text in OPENING and not (token.text == '"' and depth):
            depth += 1
        elif token.text in CLOSING and depth:
            depth -= 1
    return depth > 0


def drop_common_nouns(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """Abbreviations of common nouns ("СМИ") are no names."""
    return [
        span
        for span in spans
        if fold(" ".join(token.text for token in tokens[span.start : span.stop])) not in NOT_NAMES
    ]


def drop_sentence_initial_words(
    tokens: list[Token], spans: list[Span], dictionary: Dictionary
) -> list[Span]:
    """A capital letter at a sentence start is no evidence of a name: a lone word there that the
    dictionary knows only as a common word ("Супруга", "Власть") is dropped, unless the text
    also has it tagged where a capital letter means something."""
    inside = {tokens[s.start].text for s in spans if not _sentence_initial(tokens, s.start)}
    return [
        span
        for span in spans
        if span.stop - span.start > 1
        or not _sentence_initial(tokens, span.start)
        or tokens[span.start].text in inside
        or not _common_word(tokens[span.start].text, dictionary)
    ]


def _sentence_initial(tokens: list[Token], i: int) -> bool:
    return i == 0 or tokens[i - 1].sent != tokens[i].sent


def _common_word(word: str, dictionary: Dictionary) -> bool:
    return dictionary.known(word) and not any(
        PROPER & parse.tag.grammemes for parse in dictionary.forms(word)
    )


def propagate(tokens: list[Token], spans: list[Span]) -> list[Span]:
    """A capitalised name the model tagged once is tagged where else it stands, spelt the same,
    untagged (the model's decisions vary with context; a name in a text keeps its type)."""
    names: dict[str, dict[tuple[str, ...], str]] = {}  # by first word
    for span in spans:
        words = tuple(token.text for token in tokens[span.start : span.stop])
        if words[0][:1].isupper() and not _sentence_initial(tokens, span.start):
            names.setdefault(words[0], {}).setdefault(words, span.type)
    covered = {i for span in spans for i in range(span.start, span.stop)}
    out = list(spans)
    for i, token in enumerate(tokens):
        for words, type_ in names.get(token.text, {}).items():
            stop = i + len(words)
            here = tuple(t.text for t in tokens[i:stop])
            if here == words and covered.isdisjoint(range(i, stop)):
                out.append(Span(i, stop, type_))
                covered.update(range(i, stop))
    return sorted(out, key=lambda span: span.start)
