"""What checking every article against the rules costs: ``newsworker bench --alert-rules N``.

The dev pages are processed in this process (every stage), then N rules are drawn from what
they contain (entities with a salience threshold, keywords, sources, AND/OR mixes; a fixed
seed), compiled, and each record is matched against all of them, several rounds. The figure
is the CPU time of the deliver step's check (``Facts.of`` + ``Engine.match``) per article (CPU,
not wall-clock, time: a busy machine's other processes do not count).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Sequence

from config import Settings
from worker.alerts.engine import Engine, Facts, tokens
from worker.alerts.rules import Rule, RuleIn, complete
from worker.clean.chrome import source_domain
from worker.schema import Record


def generate_rules(records: Sequence[Record], n: int, seed: int = 16) -> list[Rule]:
    rng = random.Random(seed)
    entities = sorted({(e.type, e.normal) for r in records for e in r.entities})
    words = sorted({t for r in records for t in tokens(r.text) if len(t) >= 6 and t.isalpha()})
    sources = sorted({s for r in records if (s := source_domain(r.source, r.url))}) or [
        "example.ru"
    ]

    def entity() -> dict:
        type_, normal = rng.choice(entities)
        return {"entity": normal, "type": type_, "min_salience": rng.choice([0, 0, 0.2, 0.5])}

    def keyword() -> dict:
        return {"keyword": rng.choice(words)}

    makers: list[Callable[[], dict]] = [
        entity,
        entity,
        keyword,
        keyword,
        lambda: {"all": [entity(), keyword()]},
        lambda: {"any": [keyword(), keyword(), entity()]},
        lambda: {"all": [{"source": rng.choice(sources)}, {"any": [entity(), keyword()]}]},
        lambda: {"all": [{"language": "ru"}, entity(), {"any": [keyword(), keyword()]}]},
    ]
    return [
        complete(RuleIn.model_validate({"id": f"r{i}", "match": rng.choice(makers)()}), "api")
        for i in range(n)
    ]


def run(records: Sequence[Record], n_rules: int, rounds: int = 5) -> dict[str, object]:
    rules = generate_rules(records, n_rules)
    started = time.process_time()
    engine = Engine(rules)
    compile_s = time.process_time() - started
    per_round = []
    matches = 0
    for _ in range(rounds):
        started = time.process_time()
        matches = sum(len(engine.match(Facts.of(r))) for r in records)
        per_round.append((time.process_time() - started) / len(records))
    baseline = []
    empty = Engine([])
    for _ in range(rounds):
        started = time.process_time()
        for r in records:
            empty.match(Facts.of(r))
        baseline.append((time.process_time() - started) / len(records))
    return {
        "alert_rules": n_rules,
        "articles": len(records),
        "rounds": rounds,
        "cpu_ms_per_article": round(statistics.median(per_round) * 1000, 3),
        "cpu_ms_per_article_max_round": round(max(per_round) * 1000, 3),
        "cpu_ms_per_article_no_rules": round(statistics.median(baseline) * 1000, 3),
        "matches_per_article": round(matches / len(records), 2),
        "compile_s": round(compile_s, 2),
        "budget_ms": 2.0,
    }


def measure(paths: list[str], count: int, n_rules: int, settings: Settings) -> dict[str, object]:
    """Process the articles in this process, then time the alert check on their records."""
    from worker import pipeline
    from worker.bench import load_articles
    from worker.errors import BadArticle

    records = []
    for item in load_articles(paths, count):
        try:
            records.append(pipeline.process(item.id, item.kind, item.payload, settings))
        except BadArticle:
            continue
    return run(records, n_rules)
