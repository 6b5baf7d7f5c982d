"""Each candidate sentence's relevance: its position (news puts the gist first), its closeness
to the article's centroid (mean navec vector) and the salience of the entities it names."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from navec import Navec

from worker.schema import Entities
from worker.summarize.leaning import leans
from worker.text import Sentence, words

STEM = 5  # characters of a word that stand for its stem when sentences are compared
TOP_ENTITIES = 3
_STOPWORDS = (
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только ее "
    "мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже или ни быть был "
    "него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где есть надо "
    "ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж тогда кто "
    "этот того потому этого какой совсем ним здесь этом один почти мой тем чтобы нее сейчас были "
    "куда зачем всех никогда можно при наконец два об другой хоть после над больше тот через "
    "эти нас про всего них какая много разве три эту моя впрочем хорошо свою этой перед иногда "
    "лучше чуть том нельзя такой им более всегда конечно всю между также это"
)
STOPWORDS = frozenset(_STOPWORDS.split())


@dataclass(frozen=True)
class Weights:
    """How much each clue counts in a sentence's gain (each clue is 0..1)."""

    position: float = 1.0  # 1 / (1 + the sentence's index among the candidates)
    centroid: float = 0.2  # closeness to the article's centroid, rescaled over the article
    entities: float = 0.1  # salience of the article's top entities it names, against the best
    headline: float = 1.0  # share of the headline's content stems it newly covers


WEIGHTS = Weights()


@dataclass
class Candidate:
    sentence: Sentence
    index: int  # among the candidates
    words: list[str]  # folded word tokens
    stems: set[str]  # the first STEM characters of its content words
    vector: np.ndarray  # unit mean navec vector of its content words (zeros if none known)
    leans: bool  # needs the sentence before it to be understood
    relevance: float = 0.0


def stems(tokens: list[str]) -> set[str]:
    return {word[:STEM] for word in tokens if word not in STOPWORDS}


def candidates(sentences: list[Sentence], embedding: Navec) -> list[Candidate]:
    """The sentences as candidates, each with its words, stems and unit mean vector; the
    vectors of a sentence's content words are looked up at once (navec's quantised codes, as
    ``Navec.__getitem__`` decodes them one by one)."""
    ids = embedding.vocab.word_ids
    pq = embedding.pq
    subvectors, centroids, dims = pq.codes.shape
    codes = pq.codes.reshape(-1, dims)
    offsets = np.arange(subvectors) * centroids
    out = []
    for index, sentence in enumerate(sentences):
        ts = words(sentence.text)
        row = [ids[w] for w in ts if w not in STOPWORDS and w in ids]
        if row:
            vectors = codes.take((pq.indexes[row] + offsets).ravel(), axis=0)
            # the mean as np.mean takes it, without its checks
            vector = np.add.reduce(vectors.reshape(len(row), pq.dim), axis=0) / len(row)
        else:
            vector = np.zeros(pq.dim, np.float32)
        norm = float(np.sqrt(vector.dot(vector)))  # np.linalg.norm's, without its checks
        vector = vector / norm if norm else vector
        out.append(Candidate(sentence, index, ts, stems(ts), vector, leans(sentence.text, ts)))
    return out


def score(candidates: list[Candidate], entities: Entities | None, weights: Weights) -> None:
    """Set each candidate's relevance."""
    if not candidates:
        return
    centroid = np.mean([c.vector for c in candidates], axis=0)
    closeness = _spread([float(c.vector @ centroid) for c in candidates])
    named = [_entity_weight(c.sentence, entities) for c in candidates]
    top = max(named)
    for c in candidates:
        c.relevance = (
            weights.position / (1 + c.index)
            + weights.centroid * closeness[c.index]
            + weights.entities * (named[c.index] / top if top > 0 else 0.0)
        )


def _spread(values: list[float]) -> list[float]:
    """Rescaled to 0..1 (all 0 when they are all equal)."""
    low, high = min(values), max(values)
    return [(v - low) / (high - low) if high > low else 0.0 for v in values]


def _entity_weight(sentence: Sentence, entities: Entities | None) -> float:
    """The summed salience of the article's TOP_ENTITIES most salient entities in the sentence."""
    if entities is None:
        return 0.0
    return sum(
        entity.salience
        for entity in entities.entities[:TOP_ENTITIES]
        if any(sentence.start <= m.start and m.stop <= sentence.stop for m in entity.mentions)
    )
