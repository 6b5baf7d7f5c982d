"""Rules compiled into an index, and an article checked against all of them.

Every condition of a rule is a *leaf* (entity, keyword, source, language) under ``all``/``any``.
A rule is indexed by its *anchors*: leaves one of which any matching article must meet — for
``any``, the anchors of every branch; for ``all``, those of its most selective branch (entities
and keywords before sources, sources before languages). The index maps entity keys
(``TYPE:normal``), the inflected forms of keywords (pymorphy's lexeme of each word's lemma),
sources and languages to rules. An article looks up its own entity keys, words, source and
language, and only the rules found that way are evaluated in full: the cost grows with the
rules an article can match, not with all the rules there are.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from worker.alerts.rules import (
    AllOf,
    AnyOf,
    Condition,
    EntityCondition,
    KeywordCondition,
    LanguageCondition,
    Rule,
    SourceCondition,
)
from worker.clean.chrome import source_domain
from worker.schema import Record
from worker.text import fold

if TYPE_CHECKING:  # natasha loads only where keywords are compiled (the worker)
    from natasha import MorphVocab

_TOKEN = re.compile(r"\w+")  # «Санкт-Петербург»: two words, in a keyword as in a text


def entity_key(type_: str, normal: str) -> str:
    """As the store's ``entity_keys`` (``nw_entity_key``)."""
    return f"{type_}:{fold(normal)}"


def tokens(text: str) -> list[str]:
    """Words, folded (a regex, not razdel: this runs on every article for every rule set)."""
    return _TOKEN.findall(fold(text))


@functools.lru_cache(maxsize=100_000)
def word_forms(word: str, vocab: MorphVocab | None = None) -> frozenset[str]:
    """Every inflected form of ``word``'s lemma (the word itself included): «санкция» →
    {санкция, санкции, санкцией, санкциями, …}. Words pymorphy does not know stay as written.
    ``vocab``: pymorphy's dictionary as natasha loads it (default: this process's)."""
    import pymorphy2

    from worker.nlp import load_nlp

    vocab = vocab or load_nlp().morph_vocab
    parses = pymorphy2.MorphAnalyzer.parse(vocab, word)  # the Parse objects (natasha wraps them)
    forms = {word}
    if parses:
        lemma = parses[0].normal_form
        for parse in parses:
            if parse.normal_form == lemma:
                forms.update(fold(f.word) for f in parse.lexeme)
    return frozenset(forms)


@dataclass(eq=False)  # hashed by identity
class Keyword:
    """A keyword (one or more words), each word as the set of its forms."""

    text: str
    words: list[frozenset[str]]
    rules: set[int] = field(default_factory=set)

    def at(self, toks: list[str], i: int) -> bool:
        if i + len(self.words) > len(toks):
            return False
        return all(toks[i + j] in forms for j, forms in enumerate(self.words))


@dataclass(frozen=True)
class Facts:
    """What the rules look at in one article."""

    entities: dict[str, float]  # entity key -> salience (the highest, if it repeats)
    tokens: list[str]
    source: str | None
    language: str | None

    @classmethod
    def of(cls, record: Record) -> Facts:
        ents: dict[str, float] = {}
        for e in record.entities:
            key = entity_key(e.type, e.normal)
            ents[key] = max(ents.get(key, 0.0), e.salience)
        text = f"{record.title or ''}\n{record.text}"
        return cls(ents, tokens(text), source_domain(record.source, record.url), record.language)


@dataclass(frozen=True)
class Match:
    rule: Rule
    entities: list[str]
    keywords: list[str]


_COST = {"entity": 1, "keyword": 1, "source": 20, "language": 1000}


def _anchors(node: tuple) -> list[tuple]:
    """Leaves one of which an article must meet for the (compiled) condition to hold."""
    kind = node[0]
    if kind == "any":
        return [leaf for child in node[1] for leaf in _anchors(child)]
    if kind == "all":
        options = [_anchors(child) for child in node[1]]
        return min(options, key=lambda leaves: sum(_COST[leaf[0]] for leaf in leaves))
    return [node]


class Engine:
    """Compiled rules; ``match`` checks one article against all of them."""

    def __init__(self, rules: Iterable[Rule], vocab: MorphVocab | None = None) -> None:
        self.rules = list(rules)
        self._vocab = vocab
        self._keywords: dict[tuple[frozenset[str], ...], Keyword] = {}
        self._trees = [self._compile(rule.match) for rule in self.rules]
        # form -> keywords of one word with that form; first form -> keywords of several words
        self._single: dict[str, list[Keyword]] = defaultdict(list)
        self._phrase: dict[str, list[Keyword]] = defaultdict(list)
        for keyword in self._keywords.values():
            index = self._single if len(keyword.words) == 1 else self._phrase
            for form in keyword.words[0]:
                index[form].append(keyword)
        self._single_forms = frozenset(self._single)
        self._phrase_forms = frozenset(self._phrase)
        # anchors -> rules
        self._by_entity: dict[str, set[int]] = defaultdict(set)
        self._by_source: dict[str, set[int]] = defaultdict(set)
        self._by_language: dict[str, set[int]] = defaultdict(set)
        for i, tree in enumerate(self._trees):
            for leaf in _anchors(tree):
                if leaf[0] == "entity":
                    self._by_entity[leaf[1]].add(i)
                elif leaf[0] == "keyword":
                    leaf[1].rules.add(i)
                elif leaf[0] == "source":
                    self._by_source[leaf[1]].add(i)
                else:
                    self._by_language[leaf[1]].add(i)

    def __len__(self) -> int:
        return len(self.rules)

    def _compile(self, cond: Condition) -> tuple:
        if isinstance(cond, AllOf):
            return ("all", [self._compile(c) for c in cond.all])
        if isinstance(cond, AnyOf):
            return ("any", [self._compile(c) for c in cond.any])
        if isinstance(cond, EntityCondition):
            return ("entity", entity_key(cond.type, cond.entity), cond.min_salience)
        if isinstance(cond, KeywordCondition):
            words = tuple(word_forms(w, self._vocab) for w in tokens(cond.keyword))
            keyword = self._keywords.get(words)
            if keyword is None:
                keyword = self._keywords[words] = Keyword(cond.keyword, list(words))
            return ("keyword", keyword)
        if isinstance(cond, SourceCondition):
            return ("source", source_domain(cond.source))
        assert isinstance(cond, LanguageCondition)
        return ("language", cond.language)

    def keywords_in(self, toks: list[str]) -> set[Keyword]:
        """The keywords the tokens contain."""
        found: set[Keyword] = set()
        unique = set(toks)
        for form in unique & self._single_forms:
            found.update(self._single[form])
        for form in unique & self._phrase_forms:
            starts = [i for i, tok in enumerate(toks) if tok == form]
            for keyword in self._phrase[form]:
                if keyword not in found and any(keyword.at(toks, i) for i in starts):
                    found.add(keyword)
        return found

    def match(self, facts: Facts) -> list[Match]:
        candidates: set[int] = set()
        for key in facts.entities:
            if key in self._by_entity:
                candidates.update(self._by_entity[key])
        if facts.source in self._by_source:
            candidates.update(self._by_source[facts.source])
        if facts.language in self._by_language:
            candidates.update(self._by_language[facts.language])
        found = self.keywords_in(facts.tokens) if self._keywords else set()
        for keyword in found:
            candidates.update(keyword.rules)
        out = []
        for i in sorted(candidates):
            hits: tuple[list[str], list[str]] = ([], [])
            if _holds(self._trees[i], facts, found, hits):
                out.append(Match(self.rules[i], sorted(set(hits[0])), sorted(set(hits[1]))))
        return out


def _holds(node: tuple, facts: Facts, found: set[Keyword], hits: tuple[list, list]) -> bool:
    kind = node[0]
    if kind == "all":
        return all(_holds(n, facts, found, hits) for n in node[1])
    if kind == "any":
        return any([_holds(n, facts, found, hits) for n in node[1]])  # every hit noted
    if kind == "entity":
        ok = facts.entities.get(node[1], -1.0) >= node[2]
        if ok:
            hits[0].append(node[1])
        return ok
    if kind == "keyword":
        ok = node[1] in found
        if ok:
            hits[1].append(node[1].text)
        return ok
    if kind == "source":
        return facts.source == node[1]
    return facts.language == node[1]
