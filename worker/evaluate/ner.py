"""Evaluate the entities stage on factRuEval-2016 (``../shared/eval/ner/factru.jsonl``).

Every mention of every entity :func:`worker.entities.extract` finds is a predicted span of that
entity's type. Three measures, as ``../shared/README.md`` defines them:

- token-level P/R/F1 per type (naeval's): ``razdel.tokenize`` tokens, each in or out of a span of
  that type, gold against predicted, counts summed over all documents;
- span exact-match P/R/F1 per type: same start, stop and type;
- normal-form accuracy on the predicted spans that match a gold span exactly: the entity's
  ``normal`` against the gold ``normal`` (LOC, ORG) and its ``last``/``first``/``middle`` against
  ``lastname``/``firstname``/``patronymic`` (PER, where the gold has that part); compared
  lowercased with ё as е.

The gold ``normal`` of a LOC or ORG span is the name factRuEval's coreference file gives the
object first, and that file lists an object's names sorted (Unicode order): "РФ" before "Россия",
"Америка" before "США", "ДНР" before "Донбасс", "Атлантический альянс" before "НАТО". So the gold
normal of "России" is "РФ" in an article that also says "РФ", and of "НАТО" may be a name the
article never uses. ``LOC_own`` and ``ORG_own`` therefore also measure the spans whose gold normal
is the span's own name (same words, each differing at most in its ending: "Соединённых Штатов
Америки" → "Соединённые Штаты Америки"), where it is the nominative the stage must find.

Every measure is given for the whole file and for each ``set`` (factRuEval's devset and testset).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from razdel import tokenize

from worker.entities import extract
from worker.evaluate import counted
from worker.nlp import load_nlp
from worker.schema import Entities
from worker.text import fold

TYPES = ("PER", "LOC", "ORG")
NAME_PARTS = (("last", "lastname"), ("first", "firstname"), ("middle", "patronymic"))


@dataclass
class Counts:
    correct_pred: int = 0  # predicted units that are right
    pred: int = 0
    correct_gold: int = 0  # gold units that were found
    gold: int = 0

    def add(self, other: Counts) -> None:
        self.correct_pred += other.correct_pred
        self.pred += other.pred
        self.correct_gold += other.correct_gold
        self.gold += other.gold

    def scores(self) -> dict[str, float]:
        precision = self.correct_pred / self.pred if self.pred else 0.0
        recall = self.correct_gold / self.gold if self.gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def token_counts(tokens: list, gold: list[dict], pred: list[dict], type_: str) -> Counts:
    """naeval's token measure for one type: which tokens lie inside a span of that type."""
    gold_in = _inside(tokens, [s for s in gold if s["type"] == type_])
    pred_in = _inside(tokens, [s for s in pred if s["type"] == type_])
    both = sum(g and p for g, p in zip(gold_in, pred_in))
    return Counts(both, sum(pred_in), both, sum(gold_in))


def _inside(tokens: list, spans: list[dict]) -> list[bool]:
    """As naeval's ``spans_io``: a token belongs to the span it starts in."""
    return [any(s["start"] <= t.start < s["stop"] for s in spans) for t in tokens]


def span_counts(gold: list[dict], pred: list[dict], type_: str) -> Counts:
    """Exact matches of (start, stop) among the spans of one type."""
    g = {(s["start"], s["stop"]) for s in gold if s["type"] == type_}
    p = {(s["start"], s["stop"]) for s in pred if s["type"] == type_}
    return Counts(len(g & p), len(p), len(g & p), len(g))


def predicted_spans(found: Entities) -> list[dict]:
    """One span per mention, carrying its entity's type and normal form."""
    return [
        {
            "start": m.start,
            "stop": m.stop,
            "type": e.type,
            "normal": e.normal,
            "first": e.first,
            "last": e.last,
            "middle": e.middle,
        }
        for e in found.entities
        for m in e.mentions
    ]


def normal_checks(text: str, gold: list[dict], pred: list[dict]) -> Iterator[tuple[str, bool]]:
    """(what, right?) for each normal-form field of each exactly matching span."""
    by_span = {(s["start"], s["stop"], s["type"]): s for s in pred}
    for g in gold:
        p = by_span.get((g["start"], g["stop"], g["type"]))
        if p is None:
            continue
        if g["type"] == "PER":
            for ours, theirs in NAME_PARTS:
                if g.get(theirs):
                    yield f"PER_{ours}", _same(p[ours], g[theirs])
        elif g.get("normal"):
            right = _same(p["normal"], g["normal"])
            yield g["type"], right
            if own_name(text[g["start"] : g["stop"]], g["normal"]):
                yield f"{g['type']}_own", right


def own_name(surface: str, normal: str) -> bool:
    """Is ``normal`` the name ``surface`` says, only with other endings ("России" → "Россия",
    not "РФ"; "Тульской" → not "Тульская область")?"""
    ours, theirs = re.findall(r"\w+", surface), re.findall(r"\w+", normal)
    return len(ours) == len(theirs) and all(_same_word(a, b) for a, b in zip(ours, theirs))


def _same_word(a: str, b: str) -> bool:
    if a.isupper() != b.isupper():
        return False
    a, b = fold(a), fold(b)
    common = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return common >= max(1, min(len(a), len(b)) - 3)


def _same(ours: str | None, theirs: str) -> bool:
    return ours is not None and fold(ours.strip()) == fold(theirs.strip())


def read_docs(path: Path) -> Iterator[dict]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def accuracy(checks: Iterable[tuple[str, bool]]) -> dict[str, dict[str, float]]:
    totals: dict[str, list[int]] = {}
    for what, right in checks:
        total = totals.setdefault(what, [0, 0])
        total[0] += right
        total[1] += 1
    return {
        what: {"accuracy": round(right / count, 4), "spans": count}
        for what, (right, count) in sorted(totals.items())
    }


def evaluate(path: Path, progress: bool = True) -> dict:
    """Run :func:`extract` on every document of ``path`` and score its spans and normal forms,
    over the whole file and over each of its sets."""
    docs = list(read_docs(Path(path)))
    nlp = load_nlp()
    scored = []
    elapsed = 0.0
    for doc in counted(docs, progress):
        start = time.perf_counter()
        pred = predicted_spans(extract(doc["text"], nlp))
        elapsed += time.perf_counter() - start
        scored.append(_score(doc, pred))
    sets = sorted({doc.get("set") for doc in docs if doc.get("set")})
    return {
        **_summary(scored),
        "by_set": {
            name: _summary([s for s, doc in zip(scored, docs) if doc.get("set") == name])
            for name in sets
        },
        "docs_per_s": round(len(docs) / elapsed, 1) if elapsed else None,
    }


@dataclass
class _Scored:
    tokens: dict[str, Counts]
    spans: dict[str, Counts]
    checks: list[tuple[str, bool]]


def _score(doc: dict, pred: list[dict]) -> _Scored:
    gold = doc["spans"]
    words = list(tokenize(doc["text"]))
    return _Scored(
        tokens={t: token_counts(words, gold, pred, t) for t in TYPES},
        spans={t: span_counts(gold, pred, t) for t in TYPES},
        checks=list(normal_checks(doc["text"], gold, pred)),
    )


def _summary(scored: list[_Scored]) -> dict:
    tokens = {t: Counts() for t in TYPES}
    spans = {t: Counts() for t in TYPES}
    for s in scored:
        for t in TYPES:
            tokens[t].add(s.tokens[t])
            spans[t].add(s.spans[t])
    return {
        "docs": len(scored),
        "token": {t: tokens[t].scores() for t in TYPES},
        "span": {t: spans[t].scores() for t in TYPES},
        "normal": accuracy(check for s in scored for check in s.checks),
    }
