"""How alike two articles are: shared text (reprints) and shared event (stories). Plain functions.

- **Reprint**: the share of the smaller text's shingles that the other has too (containment),
  estimated from the two MinHash signatures and the texts' shingle counts:
  ``|A∩B| = J/(1+J)·(|A|+|B|)`` with ``J`` the Jaccard estimate (the fraction of equal MinHash
  values). A reprint shares at least ``REPRINT_CONTAINMENT`` of it.
- **Story**: ``STORY_TEXT`` × the tf-idf cosine of the two articles' lemmas (sublinear tf; idf
  from the document frequencies of the articles in the window when each was indexed; the
  index keeps an article's ``MAX_TERMS`` weightiest terms) + ``STORY_ENTITIES`` × the
  weighted Jaccard overlap of their entities (weights: salience). Articles whose score reaches
  ``STORY_THRESHOLD`` are about the same event — once the window holds ``STORY_MIN_ARTICLES``
  articles to weigh words by.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

REPRINT_CONTAINMENT = 0.5
MIN_SHINGLES = 8  # a text shorter than this many shingles is nobody's reprint
STORY_TEXT = 0.75
STORY_ENTITIES = 0.25
STORY_THRESHOLD = 0.25
STORY_MIN_ARTICLES = 20  # below this many articles in the window, idf cannot tell a rare word
# from a common one: only reprints join stories then

HASH_BITS = 8  # the index keeps the lowest 8 bits of each MinHash value (b-bit MinHash)
_CHANCE = 1 / (1 << HASH_BITS)  # two different values agree in their low bits by chance


def low_bits(values: np.ndarray) -> np.ndarray:
    return (values.astype(np.uint32) & ((1 << HASH_BITS) - 1)).astype(np.uint8)


def containment(a: np.ndarray, a_size: int, b: np.ndarray, b_size: int) -> float:
    """Estimated share of the smaller text's shingles found in the other (0..1), from two
    MinHash signatures (full or :func:`low_bits`) and the texts' shingle counts."""
    if min(a_size, b_size) < MIN_SHINGLES:
        return 0.0
    agree = float(np.mean(low_bits(a) == low_bits(b)))
    jaccard = max(0.0, (agree - _CHANCE) / (1 - _CHANCE))
    shared = jaccard / (1 + jaccard) * (a_size + b_size)
    return min(1.0, shared / min(a_size, b_size))


def idf(df: int, n: int) -> float:
    """Smoothed inverse document frequency of a term found in ``df`` of ``n`` articles."""
    return math.log((n + 1) / (df + 1)) + 1


def tfidf(terms: Mapping[int, int], idf_of: Callable[[int], float]) -> dict[int, float]:
    """Unit-length tf-idf vector (tf sublinear: 1 + log count)."""
    return unit({t: (1 + math.log(c)) * idf_of(t) for t, c in terms.items() if c > 0})


def unit(vec: Mapping[int, float]) -> dict[int, float]:
    norm = math.sqrt(sum(w * w for w in vec.values()))
    return {t: w / norm for t, w in vec.items()} if norm else {}


def cosine(a: Mapping[int, float], b: Mapping[int, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def weighted_jaccard(a: Mapping[int, float], b: Mapping[int, float]) -> float:
    if not a or not b:
        return 0.0
    low = sum(min(a[k], b[k]) for k in a.keys() & b.keys())
    high = sum(a.values()) + sum(b.values()) - low
    return low / high if high else 0.0


def story_score(
    a_vec: Mapping[int, float],
    a_entities: Mapping[int, float],
    b_vec: Mapping[int, float],
    b_entities: Mapping[int, float],
) -> float:
    """How likely two articles report the same event (0..1); ``*_vec`` from :func:`tfidf`."""
    return STORY_TEXT * cosine(a_vec, b_vec) + STORY_ENTITIES * weighted_jaccard(
        a_entities, b_entities
    )
