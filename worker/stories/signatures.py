"""What the grouping step keeps of an article: a MinHash of its text, its lemmas, its entities.

- **Reprints** are found by word 4-shingles of the clean text (lowercased ``\\w+`` tokens, the
  headline left out: a reprint changes it): a MinHash (datasketch, ``NUM_PERM`` permutations)
  estimates how many shingles two texts share, and ``BANDS`` bands of ``ROWS`` of its values
  are the LSH keys under which the index finds candidates.
- **Stories** are compared by the lemmas of the headline and the text (pymorphy2's normal form of
  each word, from the dictionary the entities stage uses, passed in: ``worker.nlp``; function
  words dropped, digits kept) and by the entities the entities stage found (type and normal form).

Terms and entities are kept as 32-bit hashes (``crc32``): the index stores numbers, not words.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHash

from worker.nlp import Dictionary
from worker.text import MONTHS, month_number

NUM_PERM = 128
BANDS = 20  # LSH: 20 bands of 2 values (the first 40): a pair sharing 40% of its shingles
ROWS = 2  # (Jaccard) shares a band with probability 0.97, one sharing 20% with 0.56
SHINGLE = 4
MAX_TERMS = 32  # an article's terms kept in the index: its most weighty (tf-idf) ones
MAX_ENTITIES = 12
TITLE_WEIGHT = 2  # a headline's words count twice
FUNCTION_WORDS = frozenset({"PREP", "CONJ", "PRCL", "NPRO", "INTJ", "PRED"})

WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Signature:
    """An article as the index compares it (plain data)."""

    minhash: np.ndarray  # uint32[NUM_PERM]
    shingles: int  # how many distinct shingles the text has
    terms: dict[int, int] = field(default_factory=dict)  # lemma hash → count (tf)
    entities: dict[int, float] = field(default_factory=dict)  # entity hash → salience
    marks: frozenset[int] = frozenset()  # the headline's numbers and dates (:func:`marks`)

    @property
    def bands(self) -> list[int]:
        return bands(self.minhash) if self.shingles else []


def term_hash(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def shingles(text: str, size: int = SHINGLE) -> set[bytes]:
    """Distinct word ``size``-shingles of ``text`` (a text shorter than that is one shingle)."""
    tokens = words(text)
    if not tokens:
        return set()
    if len(tokens) < size:
        return {" ".join(tokens).encode()}
    return {" ".join(tokens[i : i + size]).encode() for i in range(len(tokens) - size + 1)}


def minhash(items: Iterable[bytes]) -> np.ndarray:
    m = MinHash(num_perm=NUM_PERM, seed=1)
    m.update_batch(list(items))
    return m.hashvalues.astype(np.uint32)


def bands(values: np.ndarray) -> list[int]:
    """The LSH keys: one 32-bit hash per band of ``ROWS`` values, the band's number in it."""
    out = []
    for i in range(BANDS):
        chunk = values[i * ROWS : (i + 1) * ROWS].astype("<u4").tobytes()
        out.append(zlib.crc32(bytes([i]) + chunk))
    return out


def lemma(word: str, dictionary: Dictionary) -> str | None:
    """The dictionary form of a lowercased word (ё as е); None for a function word."""
    if word.isdigit():
        return word
    forms = dictionary.forms(word)
    if not forms:
        return word.replace("ё", "е")
    if forms[0].tag.POS in FUNCTION_WORDS:
        return None
    return forms[0].normal_form.replace("ё", "е")


def lemmas(text: str, dictionary: Dictionary) -> list[str]:
    return [lem for lem in (lemma(w, dictionary) for w in words(text)) if lem]


def term_counts(title: str | None, text: str, dictionary: Dictionary) -> Counter[str]:
    counts: Counter[str] = Counter(lemmas(text, dictionary))
    for lem in lemmas(title or "", dictionary):
        counts[lem] += TITLE_WEIGHT
    return counts


DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({MONTHS})", re.IGNORECASE)
DIGITS = re.compile(r"\d+")


def marks(title: str | None) -> frozenset[int]:
    """The headline's numbers (``n:…``) and day-and-month dates (``d:…``), hashed: two
    headlines that both name numbers or dates, and no same one, report different events."""
    title = title or ""
    found = {f"n:{n}" for n in DIGITS.findall(title)}
    found |= {f"d:{d}:{month_number(m)}" for d, m in DAY_MONTH.findall(title)}
    return frozenset(term_hash(m) for m in found)


def entity_key(type_: str, normal: str) -> str:
    return f"{type_}:{normal.lower().replace('ё', 'е')}"


def signature(
    title: str | None,
    text: str,
    entities: Sequence[tuple[str, str, float]] = (),
    *,
    dictionary: Dictionary,
) -> Signature:
    """The signature of an article: its clean text (without the headline) for reprints; its
    headline, text and ``entities`` (``(type, normal form, salience)`` as the entities stage
    gives them) for stories."""
    grams = shingles(text)
    values = minhash(grams) if grams else np.zeros(NUM_PERM, dtype=np.uint32)
    terms: dict[int, int] = {}
    for term, count in term_counts(title, text, dictionary).items():
        h = term_hash(term)
        terms[h] = terms.get(h, 0) + count
    ents: dict[int, float] = {}
    for type_, normal, salience in entities:
        h = term_hash(entity_key(type_, normal))
        ents[h] = max(ents.get(h, 0.0), float(salience))
    top = dict(sorted(ents.items(), key=lambda kv: -kv[1])[:MAX_ENTITIES])
    return Signature(
        minhash=values, shingles=len(grams), terms=terms, entities=top, marks=marks(title)
    )
