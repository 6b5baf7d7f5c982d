"""natasha models, loaded once per process (in the Celery parent before fork, when possible).

Only what the stages use: no syntax parser (ORG/LOC heads are found from the morph tags) and no
names extractor (names are read positionally, see ``worker.normal``). The NER model is called
through its slovnet internals on the stage's own tokens (``worker.spans``).
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Models:
    embedding: NewsEmbedding
    morph_vocab: MorphVocab
    morph_tagger: NewsMorphTagger
    ner_tagger: NewsNERTagger
    dates_extractor: DatesExtractor
    money_extractor: MoneyExtractor


@functools.cache
def get_models() -> Models:
    """Load every model once; later calls in the same process return the same objects."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedding = NewsEmbedding()
        morph_vocab = MorphVocab()
        return Models(
            embedding=embedding,
            morph_vocab=morph_vocab,
            morph_tagger=NewsMorphTagger(embedding),
            ner_tagger=NewsNERTagger(embedding),
            dates_extractor=DatesExtractor(morph_vocab),
            money_extractor=MoneyExtractor(morph_vocab),
        )
