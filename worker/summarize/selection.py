"""Sentences picked greedily, each time the one with the best gain: its relevance, discounted by
its stem overlap with the picks so far (maximal marginal relevance), plus the share of the
headline it covers that the picks do not cover yet. Never a near-copy of a pick (word Jaccard
above ``MAX_JACCARD``); a sentence that leans on the one before it only if that one is picked
too or nothing standing alone is left."""

from __future__ import annotations

from collections.abc import Iterable

from worker.summarize.relevance import Candidate

MAX_JACCARD = 0.5


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """|a ∩ b| / |a ∪ b| of the two sets of words; 0 for two empty ones."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def select(
    candidates: list[Candidate], headline: set[str], weight: float, sentences: int, chars: int
) -> list[Candidate]:
    """Greedy picks, best standing first, then best gain, until the budget is spent: a
    ``sentences`` count, or ``chars`` that the next best pick would overrun. Near-copies of a
    pick are never picked; the first pick is one that fits if any does."""
    chosen: list[Candidate] = []
    pool = list(candidates)
    while pool and (chars > 0 or len(chosen) < sentences):
        if chosen:  # the pool holds no near-copy of the earlier picks already
            last = set(chosen[-1].words)
            pool = [c for c in pool if jaccard(c.words, last) <= MAX_JACCARD]
        if chars > 0 and not chosen:
            pool = [c for c in pool if len(c.sentence.text) <= chars] or pool
        if not pool:
            break
        uncovered = headline.difference(*(p.stems for p in chosen))
        indices = {p.index for p in chosen}
        best = max(
            pool,
            key=lambda c: (
                _stands(c, indices),
                _gain(c, chosen, uncovered, len(headline), weight),
                -c.index,
            ),
        )
        if chars > 0 and chosen and _length([*chosen, best]) > chars:
            break
        chosen.append(best)
        pool.remove(best)
    return chosen


def _stands(candidate: Candidate, chosen: set[int]) -> bool:
    """Can the sentence stand in the summary: it does not lean, or leans on a chosen one?"""
    return not candidate.leans or candidate.index - 1 in chosen


def _length(chosen: list[Candidate]) -> int:
    """Characters of the sentences joined by spaces."""
    return sum(len(c.sentence.text) + 1 for c in chosen) - 1


def _gain(
    candidate: Candidate,
    chosen: list[Candidate],
    uncovered: set[str],
    headline_size: int,
    weight: float,
) -> float:
    """The relevance, times 1 - the stem Jaccard with the most similar pick so far, plus
    ``weight`` times the share of the headline's stems it covers that no pick covers yet."""
    overlap = max((jaccard(candidate.stems, p.stems) for p in chosen), default=0.0)
    covers = len(candidate.stems & uncovered) / headline_size if headline_size else 0.0
    return candidate.relevance * (1 - overlap) + weight * covers
