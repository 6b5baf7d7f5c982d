"""The summarize stage's one entry: :func:`summarize`."""

from __future__ import annotations

from navec import Navec

from worker.schema import Entities, Summary, SummarySentence
from worker.summarize.relevance import WEIGHTS, Weights, candidates, score, stems
from worker.summarize.selection import select
from worker.summarize.units import is_prose, split
from worker.text import words

METHOD = "lead-headline-mmr/2"


def summarize(
    text: str,
    entities: Entities | None = None,
    *,
    embedding: Navec,
    title: str | None = None,
    subtitle: str | None = None,
    sentences: int = 3,
    chars: int = 0,
    weights: Weights = WEIGHTS,
) -> Summary:
    """Pick whole sentences of ``text``: ``sentences`` of them, or if ``chars`` > 0 as many as fit
    in ``chars`` characters (joined by spaces); always at least one. ``embedding`` is navec's
    (``Nlp.embedding``). ``title`` and ``subtitle`` are the article's own headline, never part of
    the summary. Other ``weights`` than the default are named in the summary's method."""
    sentences = max(1, sentences)
    budget = f"{chars} chars" if chars > 0 else f"{sentences} sentence{'s' * (sentences != 1)}"
    units = split(text)
    prose = [sent for sent in units if is_prose(sent)] or units
    pool = candidates(prose, embedding)
    score(pool, entities, weights)
    headline = stems(words(" ".join(filter(None, (title, subtitle)))))
    picked = select(pool, headline, weights.headline, sentences, chars)
    chosen = sorted(picked, key=lambda c: c.sentence.start)
    return Summary(
        method=METHOD if weights == WEIGHTS else f"{METHOD} {weights}",
        budget=budget,
        text=" ".join(c.sentence.text for c in chosen),
        sentences=[
            SummarySentence(start=c.sentence.start, stop=c.sentence.stop, text=c.sentence.text)
            for c in chosen
        ],
    )
