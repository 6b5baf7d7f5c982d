"""Sentences that lean on the one before them and cannot stand alone in a summary."""

from __future__ import annotations

import re

from worker.text import words

MIN_WORDS = 6  # a shorter sentence rarely stands alone
# Openings that lean on an earlier sentence: pronouns, "then", "about this", connectives.
_OPENINGS = (
    "тогда|это|этот|эта|эти|этим|этого|он|она|оно|они|его|ее|их|ему|ей|им|там|тут|так|"
    "такой|такая|такие|поэтому|однако|но|впрочем|причем|ведь|зато|кроме того|также|об этом|"
    "при этом|в этой связи|в связи с этим|в свою очередь|"
    "тем не менее|вместе с тем|в том числе|в тот же день|по его словам|по ее словам|"
    "по их словам|как он|как она|как они"
)
DEPENDENT_OPENINGS = [opening.split() for opening in _OPENINGS.split("|")]
# A straight quotation mark closing a quotation before the dash of its attribution: `…", — сказал`.
QUOTE_TAIL = re.compile(r'"\s*,?\s*[—–-]')


def leans(text: str, tokens: list[str] | None = None) -> bool:
    """Does the sentence need the one before it: a reference back ("Тогда…", "При этом…"), the
    tail of a quotation or a line of dialogue, or too few words to say anything alone?
    ``tokens`` are its ``words``, if already known."""
    tokens = words(text) if tokens is None else tokens
    return (
        any(tokens[: len(opening)] == opening for opening in DEPENDENT_OPENINGS)
        or len(tokens) < MIN_WORDS
        or text.count("»") > text.count("«")
        or (text.count('"') % 2 == 1 and bool(QUOTE_TAIL.search(text)))
        or text.lstrip()[:1] in "—–-"
    )
