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
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from razdel import tokenize

from worker.entities import extract, fold
from worker.schema import Entities

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


def normal_checks(gold: list[dict], pred: list[dict]) -> Iterator[tuple[str, bool]]:
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
            yield g["type"], _same(p["normal"], g["normal"])


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
    """Run :func:`extract` on every document of ``path`` and score its spans and normal forms."""
    docs = list(read_docs(Path(path)))
    tokens = {t: Counts() for t in TYPES}
    spans = {t: Counts() for t in TYPES}
    checks: list[tuple[str, bool]] = []
    elapsed = 0.0
    for i, doc in enumerate(docs, 1):
        start = time.perf_counter()
        pred = predicted_spans(extract(doc["text"]))
        elapsed += time.perf_counter() - start
        gold = doc["spans"]
        words = list(tokenize(doc["text"]))
        for t in TYPES:
            tokens[t].add(token_counts(words, gold, pred, t))
            spans[t].add(span_counts(gold, pred, t))
        checks.extend(normal_checks(gold, pred))
        if progress:
            print(f"\r{i}/{len(docs)}", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return {
        "docs": len(docs),
        "token": {t: tokens[t].scores() for t in TYPES},
        "span": {t: spans[t].scores() for t in TYPES},
        "normal": accuracy(checks),
        "docs_per_s": round(len(docs) / elapsed, 1) if elapsed else None,
    }
