"""Extractive summary: whole sentences of the article, in article order.

Each sentence is scored by its position (news puts the gist first), its closeness to the article's
centroid (mean navec word vector) and the salience of the entities it names; sentences opening
with an unresolved reference ("Тогда…", "Об этом…", "Он…") or too short to stand alone are marked
down. The best are picked by maximal marginal relevance, never two near-copies (word Jaccard above
``MAX_JACCARD``), until the budget (sentences, or characters) is spent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from razdel import tokenize

from worker.entities import Sentence, fold
from worker.entities import sentences as split_sentences
from worker.models import get_models
from worker.schema import Entities, Summary, SummarySentence

METHOD = "lead-centroid-mmr/1"
MAX_JACCARD = 0.5
STEM = 5  # characters of a word that stand for its stem when sentences are compared
# Lead first: measured on ../shared/eval/summarize, anything weaker falls behind Lead-N.
WEIGHTS = {"position": 0.75, "centroid": 0.15, "entities": 0.1}
MIN_WORDS = 6
TOP_ENTITIES = 3
# Openings that lean on an earlier sentence: pronouns, "then", "about this", connectives.
_OPENINGS = (
    "тогда|это|этот|эта|эти|этим|этого|он|она|оно|они|его|ее|их|ему|ей|им|там|тут|так|"
    "такой|такая|такие|поэтому|однако|но|впрочем|причем|ведь|зато|об этом|"
    "при этом|в этой связи|в связи с этим|в свою очередь|"
    "тем не менее|вместе с тем|в том числе|в тот же день|по его словам|по ее словам|"
    "по их словам|как он|как она|как они"
)
DEPENDENT_OPENINGS = [opening.split() for opening in _OPENINGS.split("|")]
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


@dataclass
class _Candidate:
    sentence: Sentence
    words: list[str]  # folded word tokens
    stems: set[str]  # the first STEM characters of its content words
    vector: np.ndarray  # unit mean navec vector of its content words (zeros if none known)
    score: float = 0.0


def summarize(
    text: str, entities: Entities | None = None, *, sentences: int = 3, chars: int = 0
) -> Summary:
    """Pick whole sentences of ``text``: ``sentences`` of them, or if ``chars`` > 0 as many as fit
    in ``chars`` characters (joined by spaces); always at least one."""
    sentences = max(1, sentences)
    budget = f"{chars} chars" if chars > 0 else f"{sentences} sentence{'s' * (sentences != 1)}"
    candidates = [_candidate(sent) for sent in split_sentences(text)]
    if not candidates:
        return Summary(method=METHOD, budget=budget, text="", sentences=[])
    _score(candidates, entities)
    chosen = sorted(_select(candidates, sentences, chars), key=lambda c: c.sentence.start)
    return Summary(
        method=METHOD,
        budget=budget,
        text=" ".join(c.sentence.text for c in chosen),
        sentences=[
            SummarySentence(start=c.sentence.start, stop=c.sentence.stop, text=c.sentence.text)
            for c in chosen
        ],
    )


def words(text: str) -> list[str]:
    """Word tokens (razdel), lowercased, ё as е; punctuation dropped."""
    return [fold(tok.text) for tok in tokenize(text) if any(ch.isalnum() for ch in tok.text)]


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """|a ∩ b| / |a ∪ b| of the two sets of words; 0 for two empty ones."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def _candidate(sentence: Sentence) -> _Candidate:
    tokens = words(sentence.text)
    embedding = get_models().embedding
    content = [w for w in tokens if w not in STOPWORDS]
    known = [embedding[w] for w in content if w in embedding]
    vector = np.mean(known, axis=0) if known else np.zeros(embedding.pq.dim, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    stems = {w[:STEM] for w in content}
    return _Candidate(sentence, tokens, stems, vector / norm if norm else vector)


def _score(candidates: list[_Candidate], entities: Entities | None) -> None:
    centroid = np.mean([c.vector for c in candidates], axis=0)
    closeness = _spread([float(c.vector @ centroid) for c in candidates])
    named = [_entity_weight(c.sentence, entities) for c in candidates]
    for index, candidate in enumerate(candidates):
        candidate.score = _penalty(candidate) * (
            WEIGHTS["position"] / (1 + index)
            + WEIGHTS["centroid"] * closeness[index]
            + WEIGHTS["entities"] * _share(named[index], named)
        )


def _share(value: float, values: list[float]) -> float:
    top = max(values)
    return value / top if top > 0 else 0.0


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


def _penalty(candidate: _Candidate) -> float:
    """How far a sentence can stand alone: 1, or less for a dangling one."""
    text, tokens = candidate.sentence.text, candidate.words
    factor = 1.0
    if any(tokens[: len(opening)] == opening for opening in DEPENDENT_OPENINGS):
        factor *= 0.5
    if len(tokens) < MIN_WORDS:
        factor *= 0.3
    if text.count("»") > text.count("«") or text.lstrip()[:1] in "—–-":
        factor *= 0.6  # the end of a quotation, a line of dialogue
    elif text.count("«") > text.count("»"):
        factor *= 0.85  # the start of a quotation
    if text.rstrip().endswith(":"):
        factor *= 0.5
    return factor


def _select(candidates: list[_Candidate], sentences: int, chars: int) -> list[_Candidate]:
    """Maximal marginal relevance within the budget; near-copies of a pick are never picked."""
    chosen: list[_Candidate] = []
    pool = list(candidates)
    while pool and (chars > 0 or len(chosen) < sentences):
        pool = [c for c in pool if all(jaccard(c.words, p.words) <= MAX_JACCARD for p in chosen)]
        if chars > 0:
            used = sum(len(p.sentence.text) + 1 for p in chosen)
            fits = [c for c in pool if used + len(c.sentence.text) <= chars]
            pool = fits or ([] if chosen else pool)
        if not pool:
            break
        best = max(pool, key=lambda c: (_marginal(c, chosen), -c.sentence.start))
        chosen.append(best)
        pool.remove(best)
    return chosen


def _marginal(candidate: _Candidate, chosen: list[_Candidate]) -> float:
    """The score, times 1 - the stem Jaccard with the most similar pick so far."""
    overlap = max((jaccard(candidate.stems, p.stems) for p in chosen), default=0.0)
    return candidate.score * (1 - overlap)
