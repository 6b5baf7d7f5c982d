"""Evaluate story grouping and reprint detection on labelled pairs (``../shared/eval/dedup/``).

Every distinct article of the file goes, in file order, through the grouping step
(:func:`worker.stories.group.group`) against a fresh namespace of the real Redis index — a
stream, as the workers see it. Its entities are the entities stage's own (:func:`extract`).
A pair is predicted ``same_story`` when both articles ended in one story; for the pairs whose
``derived.sh4_containment`` ≥ 0.5 (reprints), ``duplicate_of`` is right when the later article
points at the earlier one (or at what the earlier one reprints).

The document frequencies start from this file's articles (counted into the index's window
before the stream), as the tf-idf baseline's idf does.

Beside it, in the same run: the tf-idf cosine baseline of ``../shared/README.md`` (lowercased
``\\w+`` tokens of title + text, no lemmas, sublinear tf, idf over the file's articles, its
threshold tuned on this file), and our pairwise story score with its threshold tuned on the
file. ``split_half`` shows how a threshold tuned on one half of the pairs (halves by connected
component over URLs, so they share no article) does on the other half, for both: a check for
overfitting.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
import uuid
from collections import Counter
from pathlib import Path

from config import Settings
from worker.entities import extract
from worker.evaluate import counted
from worker.nlp import load_nlp
from worker.stories import similarity
from worker.stories.group import group_signature
from worker.stories.index import Ask, StoryIndex
from worker.stories.signatures import MAX_TERMS, signature

REPRINT = 0.5


def _prf(pred: list[bool], gold: list[bool]) -> dict[str, float]:
    tp = sum(p and g for p, g in zip(pred, gold))
    fp = sum(p and not g for p, g in zip(pred, gold))
    fn = sum(g and not p for p, g in zip(pred, gold))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    acc = sum(a == b for a, b in zip(pred, gold)) / len(gold) if gold else 0.0
    return {"f1": round(f, 3), "p": round(p, 3), "r": round(r, 3), "accuracy": round(acc, 3)}


def _best_threshold(scores: list[float], gold: list[bool]) -> float:
    best, best_f = 1.0, -1.0
    for th in sorted(set(scores)):
        f = _prf([s >= th for s in scores], gold)["f1"]
        if f > best_f:
            best, best_f = th, f
    return best


def _halves(pairs: list[dict]) -> tuple[list[int], list[int]]:
    """Pair indices in two halves that share no article (connected components over URLs)."""
    parent: dict[str, str] = {}

    def find(u: str) -> str:
        while parent.setdefault(u, u) != u:
            parent[u] = parent[parent[u]]
            u = parent[u]
        return u

    for pair in pairs:
        parent[find(pair["a"]["url"])] = find(pair["b"]["url"])
    comps: dict[str, list[int]] = {}
    for i, pair in enumerate(pairs):
        comps.setdefault(find(pair["a"]["url"]), []).append(i)
    order = sorted(comps.values(), key=lambda c: hashlib.sha1(str(c).encode()).hexdigest())
    a: list[int] = []
    b: list[int] = []
    for comp in sorted(order, key=len, reverse=True):  # greedy balance
        (a if len(a) <= len(b) else b).extend(comp)
    return a, b


def _split_half(scores: list[float], gold: list[bool], halves: tuple[list[int], list[int]]):
    out = []
    for train, test in (halves, halves[::-1]):
        th = _best_threshold([scores[i] for i in train], [gold[i] for i in train])
        out.append(_prf([scores[i] >= th for i in test], [gold[i] for i in test])["f1"])
    return round(sum(out) / 2, 3)


def _baseline_scores(pairs: list[dict], articles: dict[str, dict]) -> list[float]:
    """tf-idf cosine of title + text: lowercased \\w+ tokens, sublinear tf, smoothed idf over
    the file's articles (what ``../shared/README.md``'s reference figure, F1 0.794, is)."""
    tokens = {
        u: re.findall(r"\w+", f"{a.get('title') or ''} {a['text']}".lower())
        for u, a in articles.items()
    }
    df: Counter[str] = Counter()
    for toks in tokens.values():
        df.update(set(toks))
    n = len(tokens)
    vecs = {}
    for u, toks in tokens.items():
        v = {
            t: (1 + math.log(c)) * (math.log((n + 1) / (df[t] + 1)) + 1)
            for t, c in Counter(toks).items()
        }
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vecs[u] = {t: x / norm for t, x in v.items()}
    return [similarity.cosine(vecs[p["a"]["url"]], vecs[p["b"]["url"]]) for p in pairs]


def read_pairs(path: Path) -> list[dict]:
    with Path(path).open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(path: Path, settings: Settings, progress: bool = True) -> dict:
    from worker.bench import bench_redis
    from worker.delivery.ledger import connect

    pairs = read_pairs(path)
    articles: dict[str, dict] = {}
    for pair in pairs:
        for side in ("a", "b"):
            articles.setdefault(pair[side]["url"], pair[side])
    ids = {u: f"a{i}" for i, u in enumerate(articles)}
    nlp = load_nlp()
    sigs = {}
    for u in counted(list(articles), progress):
        a = articles[u]
        found = extract(a["text"], nlp).entities
        entities = [(e.type, e.normal, e.salience) for e in found]
        sigs[u] = signature(a.get("title"), a["text"], entities, dictionary=nlp.dictionary)
    gold = [p["label"] == "same_story" for p in pairs]
    reprints = [i for i, p in enumerate(pairs) if p["derived"]["sh4_containment"] >= REPRINT]
    with bench_redis(settings, lambda m: None) as live:
        client = connect(live)
        prefix = f"{live.key_prefix}-eval-{uuid.uuid4().hex[:8]}:grp"
        index = StoryIndex(client, prefix, 72 * 3600)
        try:
            now = time.time()
            index.observe([list(s.terms) for s in sigs.values()], now)
            groups = {}
            start = time.perf_counter()
            for i, u in enumerate(articles):
                groups[u] = group_signature(
                    index, ids[u], sigs[u], title=articles[u].get("title"), now=now + i * 1e-3
                )
            seconds = time.perf_counter() - start
            every = index.query([Ask("", (), {t: 1 for s in sigs.values() for t in s.terms})], now)
            df, n = every.found[0].df, every.found[0].articles
        finally:
            keys = list(client.scan_iter(f"{prefix}:*", count=1000))
            for i in range(0, len(keys), 500):
                client.delete(*keys[i : i + 500])
    pred = [groups[p["a"]["url"]].story.id == groups[p["b"]["url"]].story.id for p in pairs]

    def linked(p: dict) -> bool:
        a, b = p["a"]["url"], p["b"]["url"]
        first, later = (a, b) if list(articles).index(a) < list(articles).index(b) else (b, a)
        target = groups[later].duplicate_of
        return target is not None and target in {ids[first], groups[first].duplicate_of}

    ours = _pairwise_scores(pairs, sigs, df, n)
    base = _baseline_scores(pairs, articles)
    halves = _halves(pairs)
    base_th = _best_threshold(base, gold)
    ours_th = _best_threshold(ours, gold)
    return {
        "pairs": len(pairs),
        "articles": len(articles),
        "stream": {
            **_prf(pred, gold),
            "stories": len({g.story.id for g in groups.values()}),
            "ms_per_article": round(1000 * seconds / len(articles), 2),
        },
        "duplicate_of": {
            "reprint_pairs": len(reprints),
            "recall": round(sum(linked(pairs[i]) for i in reprints) / len(reprints), 3)
            if reprints
            else None,
        },
        "baseline_tfidf": {
            **_prf([s >= base_th for s in base], gold),
            "threshold": round(base_th, 3),
            "split_half_f1": _split_half(base, gold, halves),
        },
        "ours_pairwise": {
            **_prf([s >= ours_th for s in ours], gold),
            "threshold": round(ours_th, 3),
            "at_our_threshold": _prf([s >= similarity.STORY_THRESHOLD for s in ours], gold),
            "split_half_f1": _split_half(ours, gold, halves),
        },
        "story_threshold": similarity.STORY_THRESHOLD,
    }


def _pairwise_scores(pairs: list[dict], sigs: dict, df: dict[int, int], n: int) -> list[float]:
    """Our story score of each pair on its own (no stream), idf from the window's counts."""

    def idf(t: int) -> float:
        return similarity.idf(df.get(t, 0), n)

    def vec(sig) -> dict[int, float]:
        weights = similarity.tfidf(sig.terms, idf)
        kept = sorted(weights, key=lambda t: -weights[t])[:MAX_TERMS]
        return similarity.tfidf({t: sig.terms[t] for t in kept}, idf)

    out = []
    for p in pairs:
        a, b = sigs[p["a"]["url"]], sigs[p["b"]["url"]]
        out.append(similarity.story_score(vec(a), a.entities, vec(b), b.entities, a.marks, b.marks))
    return out
