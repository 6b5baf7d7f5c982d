"""Grouping one article: find what it reprints and which story it belongs to, then index it.

:func:`group` is what the Celery task calls (and the evaluation, directly): a signature from the
article's clean text, headline and entities; the candidates from the shared index; the decision
(:mod:`worker.stories.similarity`); an atomic commit, retried when another worker indexed a
related article in between (see :mod:`worker.stories.index`).

- ``duplicate_of``: the earliest candidate in the window whose text holds at least
  ``REPRINT_CONTAINMENT`` of the smaller text's shingles (either way), else None.
- ``story``: a reprint joins the story of what it reprints; otherwise the story of the
  candidate with the highest story score if it reaches ``STORY_THRESHOLD``; otherwise a new
  story, founded by this article.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from worker.nlp import Dictionary
from worker.stories import similarity
from worker.stories.index import (
    POSTED,
    POSTED_ENTITIES,
    Entry,
    Story,
    StoryIndex,
    field_key,
    pack,
    story_id,
)
from worker.stories.signatures import MAX_TERMS, Signature, signature

MAX_ATTEMPTS = 50


@dataclass(frozen=True)
class Grouping:
    duplicate_of: str | None
    story: Story


def group(
    index: StoryIndex,
    article_id: str,
    *,
    title: str | None,
    text: str,
    entities: Sequence[tuple[str, str, float]] = (),
    source: str | None = None,
    now: float | None = None,
    dictionary: Dictionary,
) -> Grouping:
    """Group one article (see the module's docstring); idempotent per article id."""
    sig = signature(title, text, entities, dictionary=dictionary)
    return group_signature(index, article_id, sig, title=title, source=source, now=now)


def group_signature(
    index: StoryIndex,
    article_id: str,
    sig: Signature,
    *,
    title: str | None = None,
    source: str | None = None,
    now: float | None = None,
    frequencies: tuple[dict[int, int], int] | None = None,
) -> Grouping:
    """Group one article by its signature; ``frequencies``: the window's document frequencies
    of (at least) its terms and its article count, as ``StoryIndex.document_frequencies``
    gives them — read once for a whole batch by the caller — else read here."""
    now = time.time() if now is None else now
    df, n = frequencies or index.document_frequencies(list(sig.terms), now)

    def idf(term: int) -> float:
        return similarity.idf(df.get(term, 0), n)

    weights = similarity.tfidf(sig.terms, idf)
    kept = sorted(weights, key=lambda t: -weights[t])[:MAX_TERMS]
    vec = similarity.unit({t: weights[t] for t in kept})
    top_entities = sorted(sig.entities, key=lambda e: -sig.entities[e])[:POSTED_ENTITIES]
    posted = [field_key(t) for t in kept[:POSTED]] + [field_key(e) for e in top_entities]
    posted = list(dict.fromkeys(posted))
    bands = sig.bands
    for _ in range(MAX_ATTEMPTS):
        found = index.query(article_id, bands, posted, now)
        if found.existing is not None:
            return _existing(index, found.existing)
        candidates = [
            c for c in found.candidates if c.id != article_id and c.seen >= now - index.window
        ]
        duplicate, story = decide(sig, vec, candidates, stories=n >= similarity.STORY_MIN_ARTICLES)
        sid = story.story if story else story_id(article_id)
        entry = pack(
            article_id,
            sid,
            duplicate.id if duplicate else None,
            source,
            now,
            sig.shingles,
            sig.minhash,
            vec,
            sig.entities,
            sig.marks,
        )
        done = index.commit(
            article_id=article_id,
            seen_seq=found.seq,
            now=now,
            story=sid,
            source=source,
            title=title,
            entry=entry,
            bands=bands,
            posted=posted,
            terms=list(sig.terms),
        )
        if done.status == "conflict":
            continue
        if done.status == "existing":
            assert done.entry is not None
            return _existing(index, done.entry)
        assert done.story is not None
        return Grouping(duplicate.id if duplicate else None, done.story)
    raise RuntimeError(f"grouping {article_id}: {MAX_ATTEMPTS} conflicting commits in a row")


def decide(
    sig: Signature, vec: dict[int, float], candidates: list[Entry], stories: bool = True
) -> tuple[Entry | None, Entry | None]:
    """(the earliest candidate this article reprints, the candidate whose story it joins);
    without ``stories``, only a reprint joins a story."""
    copies = [
        c
        for c in candidates
        if similarity.containment(sig.minhash, sig.shingles, c.minhash, c.shingles)
        >= similarity.REPRINT_CONTAINMENT
    ]
    duplicate = min(copies, key=lambda c: (c.seen, c.seq)) if copies else None
    if duplicate is not None:
        return duplicate, duplicate
    if not stories:
        return None, None
    best, best_score = None, similarity.STORY_THRESHOLD
    for c in candidates:
        score = similarity.story_score(
            vec, sig.entities, similarity.unit(c.terms), c.entities, sig.marks, c.marks
        )
        if score >= best_score:
            best, best_score = c, score
    return None, best


def _existing(index: StoryIndex, entry: Entry) -> Grouping:
    """An article grouped before: its first grouping, with its story as it stands now."""
    story = index.story(entry.story) or Story(entry.story, entry.id, entry.source, "", 1)
    return Grouping(entry.duplicate_of, story)
