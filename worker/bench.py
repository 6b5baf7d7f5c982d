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
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lxml import etree

from config import Settings, get_settings
from worker import clean, ingest, pipeline
from worker.entities import extract, tagger
from worker.nlp import Nlp, load_nlp
from worker.schema import Clean, RawArticle
from worker.summarize import summarize
from worker.text import load_language_model, sentences, tokens

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
    """Each stage called directly in this process (CPU time) beside its floor, and the natasha
    baselines.

    A stage's floor is the least any implementation of it must do: clean, parsing the page (lxml)
    and lxml's own text iteration over the tree (a text payload: splitting its lines); entities,
    tokenising and the NER model's forward pass and decoding (``tagger.ner_tags``), beside
    natasha's own NER call on the text; summarize, splitting the sentences."""
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
    _, f_clean = _timed(lambda: [_clean_floor(r) for r in raws])
    _, f_entities = _timed(lambda: [_entities_floor(t, nlp) for t in texts])
    _, f_summarize = _timed(lambda: [sentences(t) for t in texts])
    _, t_naive = _timed(lambda: [_naive_natasha(t, nlp) for t in texts])
    ner = nlp.ner_tagger
    _, t_ner = _timed(lambda: [ner(t) for t in texts])
    n = len(items)
    total = t_clean + t_entities + t_summarize
    cost = {"clean": t_clean, "entities": t_entities, "summarize": t_summarize}
    floor = {"clean": f_clean, "entities": f_entities, "summarize": f_summarize}
    return {
        "inprocess_articles_per_s": _rate(n, total),
        "inprocess_cpu_ms_per_article": _ms(total, n),
        "stage_articles_per_s": {stage: _rate(n, t) for stage, t in cost.items()},
        "stage_ms_per_article": {stage: _ms(t, n) for stage, t in cost.items()},
        "stage_floor_ms_per_article": {stage: _ms(t, n) for stage, t in floor.items()},
        "stage_vs_floor": {
            stage: round(cost[stage] / floor[stage], 2) if floor[stage] > 0 else None
            for stage in cost
        },
        "ner_only_ms_per_article": _ms(t_ner, n),
        "naive_natasha_articles_per_s": _rate(n, t_naive),
        "ner_only_articles_per_s": _rate(n, t_ner),
        "mean_clean_chars": round(statistics.mean(len(t) for t in texts)),
    }


def _texts(items: list[ingest.Submission], settings: Settings) -> list[str]:
    """The cleaned texts of the distinct articles among ``items``."""
    payloads = {(i.kind, i.payload) for i in items}
    raws = [pipeline.decode(payload, kind, settings) for kind, payload in sorted(payloads)]
    return [_clean(raw, settings).text for raw in raws]


def _ms(seconds: float, n: int) -> float:
    return round(1000 * seconds / n, 2) if n else 0.0


def _clean_floor(raw: RawArticle) -> int:
    """What any cleaner must do: parse the page and iterate over its text (lxml's own)."""
    if raw.html is None:
        return len((raw.text or "").splitlines())
    try:
        tree = etree.fromstring(raw.html.encode("utf-8", "replace"), parser=_FLOOR_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError):
        return 0
    return 0 if tree is None else len("".join(tree.itertext()))


_FLOOR_PARSER = etree.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)


def _entities_floor(text: str, nlp: Nlp) -> int:
    """The entities stage's own floor: its tokens and the NER model's tags of them."""
    return len(tagger.ner_tags(nlp.ner_tagger, [token.text for token in tokens(text)]))


def _clean(raw: RawArticle, settings: Settings) -> Clean:
    return clean.clean(raw, max_text_chars=settings.max_text_chars, languages=load_language_model())


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


# --- memory of a long article, the recorded baseline ---------------------------------------

LONG_ARTICLE_CHARS = 256_000
BASELINE = Path(__file__).with_name("bench_baseline.json")


def long_article(texts: list[str], chars: int = LONG_ARTICLE_CHARS) -> dict[str, Any]:
    """Peak memory the entities and summarize stages add on one article of ``chars`` characters
    (the articles' texts joined, repeated), measured in a fresh process: its resident set after
    the models are loaded and warm, against its high-water mark after the article."""
    paragraphs = [t for t in texts if t.strip()] or ["Текст."]
    parts: list[str] = []
    size = 0
    while size < chars:
        parts.append(paragraphs[len(parts) % len(paragraphs)])
        size += len(parts[-1]) + 2
    text = "\n\n".join(parts)[:chars]
    with tempfile.TemporaryDirectory(prefix="nwbench-") as tmp:
        path = Path(tmp) / "long.txt"
        path.write_text(text, encoding="utf-8")
        code = f"from worker.bench import _long_article_peak; _long_article_peak({str(path)!r})"
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    return {"chars": len(text), **json.loads(out.stdout)}


def _long_article_peak(path: str) -> None:
    """In a fresh process: print the memory the stages add on the text in ``path``."""
    text = Path(path).read_text(encoding="utf-8")
    nlp = load_nlp()
    warm = text[:5000]
    summarize(warm, extract(warm, nlp), embedding=nlp.embedding)
    Path("/proc/self/clear_refs").write_text("5")  # the high-water mark starts again here
    before = _status_mb("VmRSS")
    start = time.process_time()
    summarize(text, extract(text, nlp), embedding=nlp.embedding)
    seconds = time.process_time() - start
    peak = _status_mb("VmHWM")
    print(json.dumps({"peak_mb_added": round(peak - before, 1), "cpu_s": round(seconds, 2)}))


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def baseline() -> dict[str, Any] | None:
    """The in-process figures recorded before the stages' last optimisation (and the commit
    they come from), if the file is there."""
    try:
        return json.loads(BASELINE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def record_baseline(result: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """Write this run's in-process figures as the baseline, with the commit of the code."""
    root = Path(__file__).resolve().parents[1]
    git = ["git", "-C", str(root)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "worker"], capture_output=True)
    # (this file itself excepted: recording writes it)
    record = {
        "commit": commit.stdout.strip() or None,
        "worker_code_modified": any(
            not line.endswith(BASELINE.name) for line in dirty.stdout.decode().splitlines()
        ),
        "paths": paths,
        "articles": result["articles"],
        "inprocess_cpu_ms_per_article": result["inprocess_cpu_ms_per_article"],
        "stage_ms_per_article": result["stage_ms_per_article"],
        "stage_floor_ms_per_article": result["stage_floor_ms_per_article"],
        "long_article": result["long_article"],
    }
    BASELINE.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


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
    outcome = producer.wait(done.queued, settings)
    if outcome["processed"] != len(items):
        raise RuntimeError(f"bench articles did not all process: {dict(outcome)}")
    return time.perf_counter() - start


def _redis_cpu_s(client: Any) -> float:
    """CPU seconds (user + system) the Redis server has used so far."""
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _commandstats(client: Any) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(s["calls"])
            for name, s in client.info("commandstats").items()}  # fmt: skip


COUNTED = 64  # articles of the pass that counts Redis commands (4 batches of 16)


def count_commands(items: list[ingest.Submission], settings: Settings) -> dict[str, Any]:
    """Redis commands per article per stage, from ``INFO commandstats`` before and after
    ``items`` go through the running workers; a MONITOR over the same pass tells the commands
    clients sent (a script call is one) from those the scripts ran inside Redis. Exact on a
    private Redis; on a shared one every other client's commands are counted too."""
    import threading

    from worker.delivery.ledger import connect
    from worker.delivery.protocol import STAGES

    client = connect(settings)
    seen = {"clients": 0, "scripts": 0}
    sent: dict[str, int] = {}  # by command name, those clients sent
    ready, done = threading.Event(), threading.Event()

    def monitor() -> None:
        with client.monitor() as m:
            ready.set()
            for command in m.listen():
                if command["command"] == "ECHO STOP-COUNTING":
                    done.set()
                    return
                if command.get("client_type") == "lua":
                    seen["scripts"] += 1
                else:
                    seen["clients"] += 1
                    name = command["command"].split(" ", 1)[0].lower()
                    sent[name] = sent.get(name, 0) + 1

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    ready.wait(10)
    before = _commandstats(client)
    _submit_and_wait(items, settings)
    after = _commandstats(client)
    client.echo("STOP-COUNTING")
    watcher.join(600)  # MONITOR's lines may lag far behind on a busy machine
    calls = {name: after[name] - before.get(name, 0) for name in after}
    calls = {n: c for n, c in sorted(calls.items(), key=lambda kv: -kv[1]) if c > 0}
    calls.pop("info", None)  # this function's own
    per = len(items) * len(STAGES)
    return {
        "articles": len(items),
        # Commands sent by clients (a script call counts one): None if MONITOR fell behind.
        "commands_per_article_per_stage": round(seen["clients"] / per, 2)
        if done.is_set()
        else None,
        "including_scripts_inner_commands": round(sum(calls.values()) / per, 2),
        "by_command_per_article": {n: round(c / len(items), 2) for n, c in calls.items()},
        # What clients sent, by command (MONITOR; a script call is its EVALSHA).
        "sent_by_command_per_article": {
            n: round(c / len(items), 2) for n, c in sorted(sent.items(), key=lambda kv: -kv[1])
        }
        if done.is_set()
        else None,
    }


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
    count: bool = False,
) -> dict[str, Any]:
    """Articles/s through real workers (startup excluded), latency, and memory per process;
    ``stories=False``: the group stage hands articles over without grouping them; ``count``:
    then a pass counting Redis commands (``count_commands``)."""
    from worker.delivery.ledger import connect
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
        client = connect(ns)
        cpu = {pid: _cpu_s(pid) for pid in (main, *pool)}
        redis_cpu = _redis_cpu_s(client)
        producer = time.process_time()
        seconds = _submit_and_wait(items, ns)
        producer = time.process_time() - producer
        cpu = {pid: _cpu_s(pid) - before for pid, before in cpu.items()}
        redis_cpu = _redis_cpu_s(client) - redis_cpu
        latencies = []
        for i, item in enumerate(items[:20]):  # light load: one article at a time
            one = ingest.Submission(f"lat-{i}", item.kind, item.payload, item.origin)
            latencies.append(1000 * _submit_and_wait([one], ns))
        pss = [p for p in map(_pss_mb, worker.children()) if p is not None]
        counted = None
        if count:
            few = [ingest.Submission(f"count-{i}", s.kind, s.payload, s.origin)
                   for i, s in enumerate(items[:COUNTED])]  # fmt: skip
            counted = count_commands(few, ns)
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
            "redis": round(1000 * redis_cpu / len(items), 2),
        },
        "redis_commands": counted,
    }


def burst(
    items: list[ingest.Submission], settings: Settings, processes: int, depth_first: bool, say: Say
) -> dict[str, Any]:
    """A burst submitted at once through real workers: seconds from the submission's start to
    the first record on the stream, each article's submit→stream latency, and the drain."""
    from worker import producer
    from worker.delivery.ledger import Keys, connect
    from worker.embedded import WorkerProcess, worker_command

    ns = _namespace(settings, "burst").model_copy(update={"task_events": False})
    log = Path(tempfile.mkdtemp(prefix="nwbench-")) / "worker.log"
    command = functools.partial(worker_command, ns, processes)
    worker = WorkerProcess(command, _env(ns), ns.effective_broker_url, log)
    order = "depth first" if depth_first else "breadth first (one FIFO)"
    try:
        worker.start()
        warm = [ingest.Submission(f"warm-{i}", s.kind, s.payload, s.origin)
                for i, s in enumerate(items[:WARM])]  # fmt: skip
        _submit_and_wait(warm, ns)
        stream = Keys(ns).stream
        client = connect(ns)
        client.delete(stream)
        say(f"bench: a burst of {len(items)} articles, {order}, {processes} process(es)")
        marks: list[tuple[int, float]] = []  # (articles submitted so far, when)

        def mark(n: int) -> None:
            marks.append(((marks[-1][0] if marks else 0) + n, time.time()))

        start = time.time()
        done = producer.submit(items, ns, on_progress=mark, depth_first=depth_first)
        outcome = producer.wait(done.queued, ns)
        drain = time.time() - start
        if outcome["processed"] != len(items):
            raise RuntimeError(f"burst articles did not all process: {dict(outcome)}")
        position = {item.id: i for i, item in enumerate(items)}
        latencies, first = [], float("inf")
        for entry_id, fields in client.xrange(stream):
            landed = int(entry_id.split(b"-")[0]) / 1000
            first = min(first, landed)
            i = position[fields[b"id"].decode()]
            submitted = next(when for count, when in marks if count > i)
            latencies.append(landed - submitted)
    finally:
        worker.stop()
        _cleanup(ns)
        shutil.rmtree(log.parent, ignore_errors=True)
    quantiles = statistics.quantiles(latencies, n=20)
    return {
        "first_record_s": round(first - start, 1),
        "p50_latency_s": round(statistics.median(latencies), 1),
        "p95_latency_s": round(quantiles[-1], 1),
        "drain_s": round(drain, 1),
    }


def run_burst(paths: list[str], count: int, processes: int, say: Say, settings: Settings) -> dict:
    """``bench --burst N``: the same burst breadth first (every stage's task alike, as before
    depth first) and depth first (later stages first), side by side."""
    items = load_articles(paths, count)
    with bench_redis(settings, say) as live:
        before = burst(items, live, processes, depth_first=False, say=say)
        after = burst(items, live, processes, depth_first=True, say=say)
    return {"articles": len(items), "processes": processes, "batch_size": settings.batch_size,
            "breadth_first": before, "depth_first": after}  # fmt: skip


def run(
    paths: list[str],
    count: int,
    processes: int,
    say: Say,
    settings: Settings,
    *,
    celery: bool = True,
    save_baseline: bool = False,
) -> dict:
    """Every figure; ``celery=False``: only the in-process ones; ``save_baseline``: record the
    in-process figures as the baseline (``worker/bench_baseline.json``)."""
    items = load_articles(paths, count)
    say(f"bench: {len(items)} articles, in process")
    result: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        },
        "articles": len(items),
    }
    result.update(in_process(items, settings))
    say(f"bench: one article of {LONG_ARTICLE_CHARS} characters, in a fresh process")
    result["long_article"] = long_article(_texts(items[:300], settings))
    before = baseline()
    if save_baseline:
        before = record_baseline(result, paths)
    result["baseline"] = before
    if before:
        result["inprocess_cpu_vs_baseline"] = round(
            result["inprocess_cpu_ms_per_article"] / before["inprocess_cpu_ms_per_article"], 3
        )
    if not celery:
        return result
    with bench_redis(settings, say) as live:
        many = through_celery(items, live, processes, events=True, say=say, count=True)
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
        celery_without_grouping_cpu_ms_per_article=ungrouped["cpu_ms_per_article"],
        redis_commands=many["redis_commands"],
        redis_private=live is not settings,  # (a shared one: counts include others)
    )
    rate = result["inprocess_articles_per_s"]
    ents = result["stage_articles_per_s"]["entities"]
    result["ratios"] = {
        "celery_vs_inprocess_times_processes": round(
            many["articles_per_s"] / (rate * processes), 3
        ),
        # The same stages as in process (the group stage handing over without grouping).
        "celery_without_grouping_vs_inprocess_times_processes": round(
            ungrouped["articles_per_s"] / (rate * processes), 3
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
