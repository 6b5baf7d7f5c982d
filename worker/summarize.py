"""Extractive summary: whole sentences of the article, verbatim, in article order.

Each sentence gets a relevance: its position (news puts the gist first), its closeness to the
article's centroid (mean navec vector) and the salience of the entities it names. Sentences are
then picked greedily, each time the one with the best gain: its relevance, discounted by its stem
overlap with the picks so far (maximal marginal relevance), plus the share of the headline (title
and subtitle, an editor's own summary) it covers that the picks do not cover yet. Never a
near-copy of a pick (word Jaccard above ``MAX_JACCARD``), never site chrome or a dateline while
prose is left, and a sentence that leans on the one before it ("Тогда…", "При этом…", the tail of
a quotation) only if that one is picked too or nothing standing alone is left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from razdel import tokenize

from worker.entities import Sentence, fold
from worker.entities import sentences as split_sentences
from worker.models import get_models
from worker.schema import Entities, Summary, SummarySentence

METHOD = "lead-headline-mmr/2"
MAX_JACCARD = 0.5
STEM = 5  # characters of a word that stand for its stem when sentences are compared
MIN_WORDS = 6  # a shorter sentence rarely stands alone
TOP_ENTITIES = 3
# Openings that lean on an earlier sentence: pronouns, "then", "about this", connectives.
_OPENINGS = (
    "тогда|это|этот|эта|эти|этим|этого|он|она|оно|они|его|ее|их|ему|ей|им|там|тут|так|"
    "такой|такая|такие|поэтому|однако|но|впрочем|причем|ведь|зато|кроме того|также|об этом|"
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
# "МОСКВА, 1 дек — РИА Новости." / "МОСКВА, 2 мая." — a news agency's dateline, not prose.
DATELINE = re.compile(
    r"\W*[^\W\d][\w .-]{0,40},\s*\d{1,2}\s+"
    r"(?:янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек)[а-я]*\.?(\s*[—–-][^.]*)?\.",
    re.IGNORECASE,
)
# A straight quotation mark closing a quotation before the dash of its attribution: `…", — сказал`.
QUOTE_TAIL = re.compile(r'"\s*,?\s*[—–-]')
# Prose ends a sentence: . ! ? … maybe followed by a closing quote or bracket.
TERMINAL = re.compile(r"[.!?…][»\"“”’')\]]*$")


@dataclass(frozen=True)
class Weights:
    """How much each clue counts in a sentence's gain (each clue is 0..1)."""

    position: float = 1.0  # 1 / (1 + the sentence's index among the candidates)
    centroid: float = 0.2  # closeness to the article's centroid, rescaled over the article
    entities: float = 0.1  # salience of the article's top entities it names, against the best
    headline: float = 1.0  # share of the headline's content stems it newly covers


WEIGHTS = Weights()


@dataclass
class _Candidate:
    sentence: Sentence
    index: int  # among the candidates
    words: list[str]  # folded word tokens
    stems: set[str]  # the first STEM characters of its content words
    vector: np.ndarray  # unit mean navec vector of its content words (zeros if none known)
    leans: bool  # needs the sentence before it to be understood
    relevance: float = 0.0


def summarize(
    text: str,
    entities: Entities | None = None,
    *,
    title: str | None = None,
    subtitle: str | None = None,
    sentences: int = 3,
    chars: int = 0,
    weights: Weights = WEIGHTS,
) -> Summary:
    """Pick whole sentences of ``text``: ``sentences`` of them, or if ``chars`` > 0 as many as fit
    in ``chars`` characters (joined by spaces); always at least one. ``title`` and ``subtitle``
    are the article's own headline, never part of the summary. Other ``weights`` than the
    default are named in the summary's method."""
    sentences = max(1, sentences)
    budget = f"{chars} chars" if chars > 0 else f"{sentences} sentence{'s' * (sentences != 1)}"
    units = split(text)
    prose = [sent for sent in units if is_prose(sent)] or units
    candidates = [_candidate(index, sent) for index, sent in enumerate(prose)]
    _score(candidates, entities, weights)
    headline = _stems(words(" ".join(filter(None, (title, subtitle)))))
    picked = _select(candidates, headline, weights.headline, sentences, chars)
    chosen = sorted(picked, key=lambda c: c.sentence.start)
    return Summary(
        method=METHOD if weights == WEIGHTS else f"{METHOD} {weights}",
        budget=budget,
        text=" ".join(c.sentence.text for c in chosen),
        sentences=[
            SummarySentence(start=c.sentence.start, stop=c.sentence.stop, text=c.sentence.text)
            for c in chosen
        ],
    )


def split(text: str) -> list[Sentence]:
    """The sentences of ``text`` (``worker.entities.sentences``), with offsets into ``text``; a
    dateline that razdel left at the start of a sentence (before a lowercase word) is cut off."""
    out: list[Sentence] = []
    for sent in split_sentences(text):
        dateline = DATELINE.match(sent.text)
        cut = dateline.end() if dateline else 0
        rest = sent.text[cut:]
        if not (cut and rest[:1].isspace() and rest.strip()):
            out.append(sent)
            continue
        start = sent.stop - len(rest.lstrip())
        out.append(Sentence(sent.start, sent.start + cut, sent.text[:cut]))
        out.append(Sentence(start, sent.stop, text[start : sent.stop]))
    return out


def is_prose(sentence: Sentence) -> bool:
    """A sentence of the article proper: it ends as a sentence does and is not a dateline.

    Headings, captions, menus and link lists (site chrome) end without a full stop."""
    text = sentence.text.strip()
    return bool(TERMINAL.search(text)) and not DATELINE.fullmatch(text)


def words(text: str) -> list[str]:
    """Word tokens (razdel), lowercased, ё as е; punctuation dropped."""
    return [fold(tok.text) for tok in tokenize(text) if any(ch.isalnum() for ch in tok.text)]


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    """|a ∩ b| / |a ∪ b| of the two sets of words; 0 for two empty ones."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def _stems(tokens: list[str]) -> set[str]:
    return {word[:STEM] for word in tokens if word not in STOPWORDS}


def _candidate(index: int, sentence: Sentence) -> _Candidate:
    tokens = words(sentence.text)
    embedding = get_models().embedding
    known = [embedding[w] for w in tokens if w not in STOPWORDS and w in embedding]
    vector = np.mean(known, axis=0) if known else np.zeros(embedding.pq.dim, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return _Candidate(
        sentence,
        index,
        tokens,
        _stems(tokens),
        vector / norm if norm else vector,
        leans(sentence.text, tokens),
    )


def leans(text: str, tokens: list[str] | None = None) -> bool:
    """Does the sentence need the one before it: a reference back ("Тогда…", "При этом…"), the
    tail of a quotation or a line of dialogue, or too few words to say anything alone?
    ``tokens`` are its ``words``, if already known."""
    tokens = words(text) if tokens is None else tokens
    return (
        any(tokens[: len(opening)] == opening for opening in DEPENDENT_OPENINGS)
        or len(tokens) < MIN_WORDS
        or text.count("»") > text.count("«")
        or (text.count('"') % 2 == 1 and bool(QUOTE_TAIL.search(text)))
        or text.lstrip()[:1] in "—–-"
    )


def _score(candidates: list[_Candidate], entities: Entities | None, weights: Weights) -> None:
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


def _select(
    candidates: list[_Candidate], headline: set[str], weight: float, sentences: int, chars: int
) -> list[_Candidate]:
    """Greedy picks, best standing first, then best gain, until the budget is spent: a
    ``sentences`` count, or ``chars`` that the next best pick would overrun. Near-copies of a
    pick are never picked; the first pick is one that fits if any does."""
    chosen: list[_Candidate] = []
    pool = list(candidates)
    while pool and (chars > 0 or len(chosen) < sentences):
        pool = [c for c in pool if all(jaccard(c.words, p.words) <= MAX_JACCARD for p in chosen)]
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


def _stands(candidate: _Candidate, chosen: set[int]) -> bool:
    """Can the sentence stand in the summary: it does not lean, or leans on a chosen one?"""
    return not candidate.leans or candidate.index - 1 in chosen


def _length(chosen: list[_Candidate]) -> int:
    """Characters of the sentences joined by spaces."""
    return sum(len(c.sentence.text) + 1 for c in chosen) - 1


def _gain(
    candidate: _Candidate,
    chosen: list[_Candidate],
    uncovered: set[str],
    headline_size: int,
    weight: float,
) -> float:
    """The relevance, times 1 - the stem Jaccard with the most similar pick so far, plus
    ``weight`` times the share of the headline's stems it covers that no pick covers yet."""
    overlap = max((jaccard(candidate.stems, p.stems) for p in chosen), default=0.0)
    covers = len(candidate.stems & uncovered) / headline_size if headline_size else 0.0
    return candidate.relevance * (1 - overlap) + weight * covers
