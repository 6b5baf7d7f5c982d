"""The morph tagger's reading (part of speech, case, number, gender) of a span's words in their
sentence.

The tagger (three convolutions of width 3 over words) is run only on a window of ``CONTEXT`` words
either side of each span, that being all the context its tags can depend on, and not at all for a
lone word the dictionary knows with one lemma ("России"): there it could change nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from worker.entities import tagger
from worker.entities.dictionary import NAME_GRAMMEMES, declinable
from worker.nlp import Dictionary, Nlp
from worker.text import Token

CONTEXT = 3


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


def tag(tokens: list[Token], ranges: Sequence[tuple[int, int]], nlp: Nlp) -> list[list[Word]]:
    """The words of each token range with the tagger's reading of them; the tagger sees only the
    window it needs around each range, and nothing of a range with no declinable word."""
    dictionary = nlp.dictionary
    windows = []
    for i, j in ranges:
        lo, hi = (
            (i, i) if j - i == 1 and _plain(tokens[i].text, dictionary) else _window(tokens, i, j)
        )
        windows.append((i - lo, j - lo, tuple(token.text for token in tokens[lo:hi])))
    unique = list(dict.fromkeys(words for *_, words in windows if words))
    morph = nlp.morph_tagger
    best = dict(zip(unique, tagger.morph_tag_ids(morph, unique)))
    out = []
    for (i, j), (a, b, words) in zip(ranges, windows):
        spaces = [""] + [" " * (t.start - p.stop) for p, t in zip(tokens[i:j], tokens[i + 1 : j])]
        if words:
            tags = [tagger.morph_tag(morph, k) for k in best[words][a:b]]
        else:
            plain = [_plain(token.text, dictionary) for token in tokens[i:j]]
            tags = [(form.pos, form.feats) if form else ("X", {}) for form in plain]
        out.append(
            [
                Word(token.text, pos, feats, space)
                for token, (pos, feats), space in zip(tokens[i:j], tags, spaces)
            ]
        )
    return out


def _plain(text: str, dictionary: Dictionary) -> Any:
    """The reading of a lone word the dictionary knows with one lemma and number and not as a
    name ("России", "Штатов"): the tagger could add nothing to its nominative."""
    if not declinable(text) or not dictionary.known(text):
        return None
    forms = dictionary.forms(text)
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
