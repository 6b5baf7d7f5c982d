"""``newsworker bench``: throughput, latency and memory, measured in one run on the same articles.

A benchmark, not a test: it prints figures (one JSON object), it asserts nothing. The Celery
figures come from real worker subprocesses on the configured Redis, in a namespace of their own
(key prefix and queue), removed afterwards.
"""

from __future__ import annotations

import functools
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config import Settings, get_settings
from worker import clean, ingest, pipeline
from worker.entities import extract
from worker.nlp import Nlp, load_nlp
from worker.schema import Clean, RawArticle
from worker.summarize import summarize

Say = Callable[[str], None]
WARM = 20  # articles run before timing, in process and through the workers alike


def load_articles(paths: list[str], count: int) -> list[ingest.Submission]:
    """The articles to measure on, repeated (with new ids) to ``count``."""
    items: list[ingest.Submission] = []
    for path in paths:
        if path.endswith(".jsonl") and "eval/clean" in path:  # the dev pages: their HTML
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    page = json.loads(line)
                    payload = json.dumps({"url": page["url"], "html": page["html"]}).encode()
                    items.append(ingest.Submission(page["id"], "json", payload, path))
        else:
            items.extend(ingest.read_paths([path]))
    if not items:
        raise ValueError("no articles to measure on")
    out = []
    for i in range(count):
        item = items[i % len(items)]
        out.append(ingest.Submission(f"bench-{i}", item.kind, item.payload, item.origin))
    return out


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 2) if seconds > 0 else 0.0


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    result = fn()
    return result, time.process_time() - start


def in_process(items: list[ingest.Submission], settings: Settings) -> dict[str, Any]:
    """Each stage called directly in this process (CPU time), and the natasha baselines."""
    nlp = load_nlp()
    clean.warm_up()
    raws = [pipeline.decode(i.payload, i.kind, settings) for i in items]
    n_sentences = settings.summary_sentences
    for raw in raws[:WARM]:  # as warm as the workers are (see through_celery)
        text = _clean(raw, settings).text
        summarize(text, extract(text, nlp), embedding=nlp.embedding, sentences=n_sentences)
    cleaned, t_clean = _timed(lambda: [_clean(r, settings) for r in raws])
    texts = [c.text for c in cleaned]
    found, t_entities = _timed(lambda: [extract(t, nlp) for t in texts])
    _, t_summarize = _timed(
        lambda: [
            summarize(t, e, embedding=nlp.embedding, sentences=n_sentences)
            for t, e in zip(texts, found)
        ]
    )
    _, t_naive = _timed(lambda: [_naive_natasha(t, nlp) for t in texts])
    ner = nlp.ner_tagger
    _, t_ner = _timed(lambda: [ner(t) for t in texts])
    n = len(items)
    total = t_clean + t_entities + t_summarize
    return {
        "inprocess_articles_per_s": _rate(n, total),
        "stage_articles_per_s": {
            "clean": _rate(n, t_clean),
            "entities": _rate(n, t_entities),
            "summarize": _rate(n, t_summarize),
        },
        "stage_ms_per_article": {
            "clean": round(1000 * t_clean / n, 2),
            "entities": round(1000 * t_entities / n, 2),
            "summarize": round(1000 * t_summarize / n, 2),
        },
        "naive_natasha_articles_per_s": _rate(n, t_naive),
        "ner_only_articles_per_s": _rate(n, t_ner),
        "mean_clean_chars": round(statistics.mean(len(t) for t in texts)),
    }


def _clean(raw: RawArticle, settings: Settings) -> Clean:
    return clean.clean(raw, max_text_chars=settings.max_text_chars)


def _naive_natasha(text: str, nlp: Nlp) -> None:
    """natasha's documented Doc pipeline: what a user would write."""
    from natasha import Doc

    doc = Doc(text)
    doc.segment(_segmenter())
    doc.tag_morph(nlp.morph_tagger)
    doc.tag_ner(nlp.ner_tagger)
    for span in doc.spans:
        span.normalize(nlp.morph_vocab)


@functools.cache
def _segmenter() -> Any:
    from natasha import Segmenter

    return Segmenter()


# --- through Celery ------------------------------------------------------------------------


@contextmanager
def bench_redis(settings: Settings, say: Say) -> Iterator[Settings]:
    """The configured Redis if it answers, else a private embedded one for this run."""
    from worker.delivery.ledger import connect
    from worker.embedded import start_redis

    try:
        connect(settings).ping()
        reachable = True
    except Exception:
        reachable = False
    if reachable:  # (an error inside the with block is not a reason to start another Redis)
        yield settings
        return
    home = Path(tempfile.mkdtemp(prefix="nwbench-"))
    private = settings.model_copy(update={"home": home, "redis_url": ""})
    say(f"bench: no Redis answers; starting a private one in {home}")
    proc = start_redis(private)
    # This process's Celery app (which publishes the "sent" events) reads the environment.
    os.environ.update(NEWSWORKER_HOME=str(home), NEWSWORKER_REDIS_URL="")
    get_settings.cache_clear()
    try:
        yield private.model_copy(update={"redis_url": f"unix://{private.socket_path}?db=0"})
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(home, ignore_errors=True)


def _env(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWORKER_")}
    env.update(
        NEWSWORKER_REDIS_URL=settings.effective_redis_url,
        NEWSWORKER_BROKER_URL=settings.broker_url,
        NEWSWORKER_KEY_PREFIX=settings.key_prefix,
        NEWSWORKER_QUEUE=settings.queue,
        # The configured sinks; postgres only where there is a PostgreSQL to write to.
        NEWSWORKER_SINKS=",".join(
            n for n in settings.sink_names if n != "postgres" or settings.effective_postgres_dsn
        ),
        NEWSWORKER_TASK_EVENTS=str(settings.task_events).lower(),
        NEWSWORKER_STORIES=str(settings.stories).lower(),
        NEWSWORKER_LOG_LEVEL="WARNING",
        NEWSWORKER_LOG_FORMAT="json",
        **extra,
    )
    return env


def _pss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _submit_and_wait(items: list[ingest.Submission], settings: Settings) -> float:
    """Seconds from the first submission until the last article landed."""
    from worker import producer

    start = time.perf_counter()
    done = producer.submit(items, settings)
    outcome = producer.wait(done.queued, settings, poll=0.05)
    if outcome["processed"] != len(items):
        raise RuntimeError(f"bench articles did not all process: {dict(outcome)}")
    return time.perf_counter() - start


def _namespace(settings: Settings, tag: str) -> Settings:
    run = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={"key_prefix": f"nwbench-{tag}-{run}", "queue": f"nwbench-{tag}-{run}"}
    )


def _cleanup(settings: Settings) -> None:
    from worker.delivery.ledger import connect

    client = connect(settings)
    keys = list(client.scan_iter(f"*{settings.key_prefix}*", count=1000))
    for i in range(0, len(keys), 500):
        client.delete(*keys[i : i + 500])


def through_celery(
    items: list[ingest.Submission],
    settings: Settings,
    processes: int,
    events: bool,
    say: Say,
    stories: bool = True,
) -> dict[str, Any]:
    """Articles/s through real workers (startup excluded), latency, and memory per process;
    ``stories=False``: the group stage hands articles over without grouping them."""
    from worker.embedded import WorkerProcess, worker_command

    ns = _namespace(settings, f"p{processes}").model_copy(
        update={"task_events": events, "stories": stories}
    )
    log = Path(tempfile.mkdtemp(prefix="nwbench-")) / "worker.log"
    command = functools.partial(worker_command, ns, processes)
    worker = WorkerProcess(command, _env(ns), ns.effective_broker_url, log)
    try:
        worker.start()
        warm = [ingest.Submission(f"warm-{i}", s.kind, s.payload, s.origin)
                for i, s in enumerate(items[:WARM])]  # fmt: skip
        _submit_and_wait(warm, ns)
        say(f"bench: {len(items)} articles through {processes} worker process(es)")
        assert worker.proc is not None
        main, pool = worker.proc.pid, worker.children()
        cpu = {pid: _cpu_s(pid) for pid in (main, *pool)}
        producer = time.process_time()
        seconds = _submit_and_wait(items, ns)
        producer = time.process_time() - producer
        cpu = {pid: _cpu_s(pid) - before for pid, before in cpu.items()}
        latencies = []
        for i, item in enumerate(items[:20]):  # light load: one article at a time
            one = ingest.Submission(f"lat-{i}", item.kind, item.payload, item.origin)
            latencies.append(1000 * _submit_and_wait([one], ns))
        pss = [p for p in map(_pss_mb, worker.children()) if p is not None]
    finally:
        worker.stop()
        _cleanup(ns)
        shutil.rmtree(log.parent, ignore_errors=True)
    return {
        "articles_per_s": _rate(len(items), seconds),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(statistics.quantiles(latencies, n=20)[-1], 1),
        "pss_mb_per_worker_process": pss,
        # Where the CPU went during the timed run, per article: the pool processes, the
        # worker's main process (messages, acks, events) and this process (submit, wait).
        "cpu_ms_per_article": {
            "pool": round(1000 * sum(cpu[pid] for pid in pool) / len(items), 2),
            "worker_main": round(1000 * cpu[main] / len(items), 2),
            "producer": round(1000 * producer / len(items), 2),
        },
    }


def run(paths: list[str], count: int, processes: int, say: Say, settings: Settings) -> dict:
    items = load_articles(paths, count)
    say(f"bench: {len(items)} articles, in process")
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
        },
        "articles": len(items),
    }
    result.update(in_process(items, settings))
    with bench_redis(settings, say) as live:
        many = through_celery(items, live, processes, events=True, say=say)
        ungrouped = through_celery(items, live, processes, events=True, say=say, stories=False)
        one = through_celery(items, live, 1, events=True, say=say)
        quiet = through_celery(items, live, processes, events=False, say=say)
    result.update(
        celery_articles_per_s=many["articles_per_s"],
        celery_processes=processes,
        celery_batch_size=settings.batch_size,
        celery_1_process_articles_per_s=one["articles_per_s"],
        celery_without_events_articles_per_s=quiet["articles_per_s"],
        celery_without_grouping_articles_per_s=ungrouped["articles_per_s"],
        p50_ms=one["p50_ms"],
        p95_ms=one["p95_ms"],
        pss_mb_per_worker_process=many["pss_mb_per_worker_process"],
        celery_cpu_ms_per_article=many["cpu_ms_per_article"],
    )
    rate = result["inprocess_articles_per_s"]
    ents = result["stage_articles_per_s"]["entities"]
    result["ratios"] = {
        "celery_vs_inprocess_times_processes": round(
            many["articles_per_s"] / (rate * processes), 3
        ),
        "entities_vs_naive_natasha": round(ents / result["naive_natasha_articles_per_s"], 3),
        "entities_vs_ner_only": round(ents / result["ner_only_articles_per_s"], 3),
        f"celery_{processes}_vs_1_process": round(
            many["articles_per_s"] / one["articles_per_s"], 3
        ),
        "flower_events_cost": round(1 - many["articles_per_s"] / quiet["articles_per_s"], 3),
        # The chain with the group stage grouping (reprints, stories) against it handing over.
        "with_vs_without_grouping": round(many["articles_per_s"] / ungrouped["articles_per_s"], 3),
        # How much of the pool's CPU is the stages' own work (the rest: queue, store, sinks).
        "stages_share_of_pool_cpu": round(
            sum(result["stage_ms_per_article"].values())
            / max(many["cpu_ms_per_article"]["pool"], 0.01),
            3,
        ),
    }
    return result
