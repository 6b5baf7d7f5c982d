"""Entity spans as the NER model tags them on the article's tokens (``tagger``); ``repairs`` then
corrects them.

The first word of a text has no left context and is almost never tagged (the model tags nothing
in "Путин поручил…"): the model gets a colon before it, as after a lead-in ("Москва:").
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.entities import tagger
from worker.nlp import Nlp
from worker.text import Token


@dataclass(frozen=True)
class Span:
    start: int  # index of the first token
    stop: int  # index after the last token
    type: str


def tagged(tokens: list[Token], nlp: Nlp) -> list[Span]:
    """The PER, LOC and ORG spans the model tags among ``tokens``."""
    if not tokens:
        return []
    return decode(tagger.ner_tags(nlp.ner_tagger, [":", *(token.text for token in tokens)])[1:])


def decode(tags: list[str]) -> list[Span]:
    """The spans BIO tags mark."""
    spans: list[Span] = []
    start, type_ = 0, None
    for i, tag in enumerate([*tags, "O"]):
        if type_ and not tag.startswith("I-"):
            spans.append(Span(start, i, type_))
            type_ = None
        if tag.startswith("B-"):
            start, type_ = i, tag[2:]
    return spans
