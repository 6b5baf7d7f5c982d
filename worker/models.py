"""natasha models, loaded once per process (in the Celery parent before fork, when possible)."""

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
        NamesExtractor,
        NewsEmbedding,
        NewsMorphTagger,
        NewsNERTagger,
        NewsSyntaxParser,
        Segmenter,
    )


@dataclass(frozen=True)
class Models:
    segmenter: Segmenter
    embedding: NewsEmbedding
    morph_vocab: MorphVocab
    morph_tagger: NewsMorphTagger
    syntax_parser: NewsSyntaxParser
    ner_tagger: NewsNERTagger
    names_extractor: NamesExtractor
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
            segmenter=Segmenter(),
            embedding=embedding,
            morph_vocab=morph_vocab,
            morph_tagger=NewsMorphTagger(embedding),
            syntax_parser=NewsSyntaxParser(embedding),
            ner_tagger=NewsNERTagger(embedding),
            names_extractor=NamesExtractor(morph_vocab),
            dates_extractor=DatesExtractor(morph_vocab),
            money_extractor=MoneyExtractor(morph_vocab),
        )
