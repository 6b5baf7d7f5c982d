"""Grouping articles: find what each reprints and which story it belongs to, then index it.

:func:`group_many` is what the Celery task calls for a batch (:func:`group` for one article,
the evaluations one at a time): a signature from each article's clean text, headline and
entities; their candidates from the shared index (one round trip for the batch); the decisions
(:mod:`worker.stories.similarity`), the earlier articles of the batch among each one's
candidates; one atomic commit of the batch, the articles from the first one another worker's
article could have changed queried and decided again (see :mod:`worker.stories.index`).

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
    POSTED_ENTITIES,
    Ask,
    Entry,
    Put,
    Story,
    StoryIndex,
    pack,
    story_id,
    unpack,
)
from worker.stories.signatures import MAX_TERMS, Signature, signature

MAX_ATTEMPTS = 50
_LATER = 1 << 62  # batch-mates decided, not yet indexed: after every indexed article


@dataclass(frozen=True)
class Grouping:
    duplicate_of: str | None
    story: Story


@dataclass(frozen=True)
class Item:
    """One article to group: its id, signature (:func:`signature`), headline and source."""

    article_id: str
    sig: Signature
    title: str | None = None
    source: str | None = None


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
    return group_many(index, [Item(article_id, sig, title, source)], now=now)[0]


def group_signature(
    index: StoryIndex,
    article_id: str,
    sig: Signature,
    *,
    title: str | None = None,
    source: str | None = None,
    now: float | None = None,
) -> Grouping:
    return group_many(index, [Item(article_id, sig, title, source)], now=now)[0]


def group_many(
    index: StoryIndex, items: Sequence[Item], now: float | None = None
) -> list[Grouping]:
    """Group a batch in its order, as if one article after the other: two round trips to
    Redis for the whole batch (more only when another worker indexed a related article in
    between). Idempotent per article id: an article grouped before gets its first grouping."""
    now = time.time() if now is None else now
    done: list[Grouping | None] = [None] * len(items)
    pending = list(range(len(items)))
    for _ in range(MAX_ATTEMPTS):
        asks = [_ask(items[i].article_id, items[i].sig) for i in pending]
        query = index.query(asks, now)
        puts: list[Put] = []
        order: list[tuple[int, str | None]] = []
        # this batch's articles decided before: their entries, bands and posted terms
        mates: list[tuple[Entry, set[int], set[str]]] = []
        for i, found in zip(pending, query.found):
            item = items[i]
            if found.existing is not None:
                assert found.story is not None
                done[i] = Grouping(found.existing.duplicate_of, found.story)
                continue
            vec = _vector(item.sig, found.df, found.articles)
            bands, posted = set(item.sig.bands), set(found.posted)
            near = [e for e, b, p in mates if b & bands or p & posted]  # as the index finds them
            candidates = [
                c
                for c in [*found.candidates, *near]
                if c.id != item.article_id and c.seen >= now - index.window
            ]
            duplicate, story = decide(
                item.sig,
                vec,
                candidates,
                stories=found.articles >= similarity.STORY_MIN_ARTICLES,
            )
            sid = story.story if story else story_id(item.article_id)
            dup = duplicate.id if duplicate else None
            entry = pack(
                item.article_id,
                sid,
                dup,
                item.source,
                now,
                item.sig.shingles,
                item.sig.minhash,
                vec,
                item.sig.entities,
                item.sig.marks,
            )
            mates.append((unpack(f"{_LATER + len(mates)}|".encode() + entry), bands, posted))
            puts.append(
                Put(
                    item.article_id,
                    sid,
                    item.source,
                    item.title,
                    entry,
                    item.sig.bands,
                    found.posted,
                    list(item.sig.terms),
                )
            )
            order.append((i, dup))
        if not puts:
            break
        results = index.commit(puts, query.seq, now)
        for (i, dup), result in zip(order, results):
            if result.status == "ok":
                assert result.story is not None
                done[i] = Grouping(dup, result.story)
            elif result.status == "existing":
                assert result.entry is not None and result.story is not None
                done[i] = Grouping(result.entry.duplicate_of, result.story)
        pending = [i for i in pending if done[i] is None]
        if not pending:
            break
    else:
        raise RuntimeError(f"grouping: {MAX_ATTEMPTS} conflicting commits in a row")
    assert all(g is not None for g in done)
    return done  # type: ignore[return-value]


def _ask(article_id: str, sig: Signature) -> Ask:
    top = sorted(sig.entities, key=lambda e: (-sig.entities[e], e))[:POSTED_ENTITIES]
    return Ask(article_id, sig.bands, sig.terms, top)


def _vector(sig: Signature, df: dict[int, int], n: int) -> dict[int, float]:
    """The article's unit tf-idf vector over its ``MAX_TERMS`` weightiest terms."""
    weights = similarity.tfidf(sig.terms, lambda t: similarity.idf(df.get(t, 0), n))
    kept = sorted(weights, key=lambda t: -weights[t])[:MAX_TERMS]
    return similarity.unit({t: weights[t] for t in kept})


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
