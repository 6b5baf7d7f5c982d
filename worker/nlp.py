"""The NLP models (natasha's, slovnet's, navec's, pymorphy's), loaded once per process.

``load_nlp()`` loads them the first time it is called and hands the same :class:`Nlp` to every
later caller (the Celery worker calls it in its parent process, before the fork, so the pool
shares the memory). Stage code never calls it: it receives the models as an argument.

Only what the stages use: no syntax parser (ORG/LOC heads are found from the morph tags) and no
names extractor (names are read positionally, ``worker.entities.names``). The NER and morph
models are run through their slovnet internals on the stage's own tokens
(``worker.entities.tagger``).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass, field
from typing import Any

with warnings.catch_warnings():
    # pymorphy2 (under natasha) imports pkg_resources, which warns about its own deprecation.
    warnings.simplefilter("ignore")
    from natasha import (
        DatesExtractor,
        MoneyExtractor,
        MorphVocab,
        NewsEmbedding,
        NewsMorphTagger,
        NewsNERTagger,
    )


class Dictionary:
    """pymorphy's dictionary (natasha's ``MorphVocab``), its look-ups of a word cached."""

    def __init__(self, vocab: MorphVocab) -> None:
        self.vocab = vocab
        self.forms = functools.lru_cache(maxsize=16384)(self._forms)
        self.known = functools.lru_cache(maxsize=16384)(self._known)

    def _forms(self, text: str) -> tuple[Any, ...]:
        """Every reading of ``text`` (lowercased), likeliest first."""
        return tuple(self.vocab.parse(text.lower()))

    def _known(self, text: str) -> bool:
        """Is ``text`` (lowercased) a word of the dictionary?"""
        return self.vocab.word_is_known(text.lower())

    def has(self, text: str, grammeme: str) -> bool:
        """Has the dictionary a reading of ``text`` with ``grammeme``?"""
        return self.known(text) and any(grammeme in f.tag.grammemes for f in self.forms(text))


@dataclass(frozen=True)
class Nlp:
    """The models the stages use (NLP models, not pydantic ones: those are ``worker.schema``)."""

    embedding: NewsEmbedding
    morph_vocab: MorphVocab
    morph_tagger: NewsMorphTagger
    ner_tagger: NewsNERTagger
    dates_extractor: DatesExtractor
    money_extractor: MoneyExtractor
    dictionary: Dictionary = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dictionary", Dictionary(self.morph_vocab))


@functools.cache
def load_nlp() -> Nlp:
    """Load every model once; later calls in the same process return the same objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedding = NewsEmbedding()
        morph_vocab = MorphVocab()
        return Nlp(
            embedding=embedding,
            morph_vocab=morph_vocab,
            morph_tagger=NewsMorphTagger(embedding),
            ner_tagger=NewsNERTagger(embedding),
            dates_extractor=DatesExtractor(morph_vocab),
            money_extractor=MoneyExtractor(morph_vocab),
        )
