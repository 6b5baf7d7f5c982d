"""Rules compiled into an index, and an article checked against all of them.

Every condition of a rule is a *leaf* (entity, keyword, source, language) under ``all``/``any``;
a rule can only match an article that meets at least one of its leaves. So the compiled rules
are indexed by leaf: entity key (``TYPE:normal``), each inflected form of a keyword's first
word (pymorphy's lexeme of its lemma), source, language. An article looks up its own entity
keys, words, source and language, and only the rules found that way are evaluated in full:
the cost grows with the rules an article touches, not with all the rules there are.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

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
from worker.boilerplate import source_domain
from worker.schema import Record

_TOKEN = re.compile(r"\w+(?:-\w+)*")


def fold(text: str) -> str:
    """Case and ё/е do not matter when comparing words and names."""
    return text.lower().replace("ё", "е")


def entity_key(type_: str, normal: str) -> str:
    """As the store's ``entity_keys`` (``nw_entity_key``)."""
    return f"{type_}:{fold(normal)}"


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


@functools.lru_cache(maxsize=100_000)
def word_forms(word: str) -> frozenset[str]:
    """Every inflected form of ``word``'s lemma (the word itself included): «санкция» →
    {санкция, санкции, санкцией, санкциями, …}. Words pymorphy does not know stay as written."""
    import pymorphy2

    from worker.models import get_models

    vocab = get_models().morph_vocab
    parses = pymorphy2.MorphAnalyzer.parse(vocab, word)  # the Parse objects (natasha wraps them)
    forms = {word}
    if parses:
        lemma = parses[0].normal_form
        for parse in parses:
            if parse.normal_form == lemma:
                forms.update(fold(f.word) for f in parse.lexeme)
    return frozenset(forms)


@dataclass
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


class Engine:
    """Compiled rules; ``match`` checks one article against all of them."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._by_entity: dict[str, set[int]] = defaultdict(set)
        self._by_source: dict[str, set[int]] = defaultdict(set)
        self._by_language: dict[str, set[int]] = defaultdict(set)
        self._keywords: dict[tuple[frozenset[str], ...], Keyword] = {}
        self._by_first_form: dict[str, list[Keyword]] = defaultdict(list)
        self._trees = [self._compile(i, rule.match) for i, rule in enumerate(self.rules)]

    def __len__(self) -> int:
        return len(self.rules)

    def _compile(self, i: int, cond: Condition) -> tuple:
        if isinstance(cond, AllOf):
            return ("all", [self._compile(i, c) for c in cond.all])
        if isinstance(cond, AnyOf):
            return ("any", [self._compile(i, c) for c in cond.any])
        if isinstance(cond, EntityCondition):
            key = entity_key(cond.type, cond.entity)
            self._by_entity[key].add(i)
            return ("entity", key, cond.min_salience)
        if isinstance(cond, KeywordCondition):
            words = tuple(word_forms(w) for w in tokens(cond.keyword))
            keyword = self._keywords.get(words)
            if keyword is None:
                keyword = self._keywords[words] = Keyword(cond.keyword, list(words))
                for form in words[0]:
                    self._by_first_form[form].append(keyword)
            keyword.rules.add(i)
            return ("keyword", keyword)
        if isinstance(cond, SourceCondition):
            self._by_source[cond.source].add(i)
            return ("source", cond.source)
        assert isinstance(cond, LanguageCondition)
        self._by_language[cond.language].add(i)
        return ("language", cond.language)

    def match(self, facts: Facts) -> list[Match]:
        candidates: set[int] = set()
        for key in facts.entities:
            candidates.update(self._by_entity.get(key, ()))
        if facts.source:
            candidates.update(self._by_source.get(facts.source, ()))
        if facts.language:
            candidates.update(self._by_language.get(facts.language, ()))
        found: set[int] = set()  # id() of the keywords present
        toks = facts.tokens
        for i, tok in enumerate(toks):
            for keyword in self._by_first_form.get(tok, ()):
                if id(keyword) not in found and keyword.at(toks, i):
                    found.add(id(keyword))
                    candidates.update(keyword.rules)
        out = []
        for i in sorted(candidates):
            hits: tuple[list[str], list[str]] = ([], [])
            if _holds(self._trees[i], facts, found, hits):
                out.append(Match(self.rules[i], sorted(set(hits[0])), sorted(set(hits[1]))))
        return out


def _holds(node: tuple, facts: Facts, found: set[int], hits: tuple[list, list]) -> bool:
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
        ok = id(node[1]) in found
        if ok:
            hits[1].append(node[1].text)
        return ok
    if kind == "source":
        return facts.source == node[1]
    return facts.language == node[1]
