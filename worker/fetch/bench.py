"""``newsworker bench --fetch``: how fast one fetch worker fetches, and what fetching beside the
NLP workers costs them. A benchmark, not a test: it prints figures, it asserts nothing.

A local HTTP server (loopback) serves the dev pages. Figures:

- ``fetch_pages_per_s``: pages one fetch worker (``NEWSWORKER_FETCH_CONCURRENCY`` threads)
  fetches and submits, from the first queued URL to the last page submitted (the politeness
  limits are lifted for the local host: what is measured is the worker, not the limit);
- ``nlp_articles_per_s_without_fetch`` / ``…_with_fetch``: NLP workers' throughput on the same
  articles alone, and while the fetch worker keeps fetching beside them (its pages go to a queue
  nobody consumes, so the NLP workers do the same work both times); ``nlp_with_vs_without``
  their ratio. Runs without and with fetching alternate (``ROUNDS`` of each; medians), so that
  the machine's other load weighs on both alike. "With" fetches at the rate the NLP workers
  process (watch's steady state: each page fetched is then processed);
  ``nlp_with_unpaced_vs_without`` is the same with the fetch worker flat out.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from config import Settings
from worker import ingest
from worker.bench import (
    Say,
    _cleanup,
    _cpu_s,
    _env,
    _namespace,
    _rate,
    _submit_and_wait,
    bench_redis,
)

ROUNDS = 3

_CANONICAL = re.compile(r"<link[^>]+canonical[^>]*>|<meta[^>]+og:url[^>]*>", re.I)


@contextmanager
def local_site(pages: list[bytes]) -> Iterator[str]:
    """Serve ``pages`` as ``/p/{n}.html`` (any query) on 127.0.0.1; yield the base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path.startswith("/p/") and path.endswith(".html"):
                body = pages[int(path[3:-5]) % len(pages)]
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
            else:
                body = b"not found"
                self.send_response(404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _fetch_worker(ns: Settings, log: Path):
    from worker.embedded import WorkerProcess, fetch_worker_command

    env = _env(
        ns,
        NEWSWORKER_FETCH_QUEUE=ns.fetch_queue,
        NEWSWORKER_HOST_RATE="100000",
        NEWSWORKER_HOST_CONCURRENCY=str(ns.fetch_concurrency),
        NEWSWORKER_FETCH_CONCURRENCY=str(ns.fetch_concurrency),
    )
    command = functools.partial(fetch_worker_command, ns, ns.fetch_concurrency)
    return WorkerProcess(command, env, ns.effective_broker_url, log)


def _nlp_worker(ns: Settings, processes: int, log: Path):
    from worker.embedded import WorkerProcess, worker_command

    command = functools.partial(worker_command, ns, processes)
    return WorkerProcess(command, _env(ns), ns.effective_broker_url, log)


def _inflight(ns: Settings) -> int:
    from worker.delivery.ledger import Ledger

    ledger = Ledger(ns)
    return int(ledger.redis.zcard(ledger.keys.inflight))


def run(pages_path: str, count: int, processes: int, say: Say, settings: Settings) -> dict:
    from worker.bench import load_articles
    from worker.delivery.ledger import connect
    from worker.fetch.pending import Pending

    with open(pages_path, encoding="utf-8") as fh:
        # Without their own canonical URLs, each URL served is an article of its own.
        pages = [_CANONICAL.sub("", json.loads(line)["html"]).encode() for line in fh]
    articles = load_articles([pages_path], count)
    tmp = Path(tempfile.mkdtemp(prefix="nwbench-fetch-"))
    result: dict[str, Any] = {"fetch_threads": settings.fetch_concurrency, "pages": count}
    with bench_redis(settings, say) as live, local_site(pages) as base:
        fns = _namespace(live, "fetch")
        fns = fns.model_copy(update={"fetch_queue": f"{fns.queue}-fetch"})
        nns = _namespace(live, "nlp")
        fetcher = _fetch_worker(fns, tmp / "fetch.log")
        nlp = _nlp_worker(nns, processes, tmp / "nlp.log")
        broker = connect(fns)
        from worker.celery_app import app

        pending = Pending(fns, broker, app)
        try:
            fetcher.start()
            nlp.start()
            serial = iter(range(10**9))

            def queue(n: int) -> None:
                for _ in range(n):
                    i = next(serial)
                    pending.send(f"{base}/p/{i % len(pages)}.html?n={i}")

            queue(20)  # warm up: connections, robots.txt
            while _inflight(fns) < 20:
                time.sleep(0.05)
            say(f"bench: fetching {count} pages with 1 fetch worker")
            before = _inflight(fns)
            assert fetcher.proc is not None
            cpu = _cpu_s(fetcher.proc.pid)
            start = time.perf_counter()
            queue(count)
            while _inflight(fns) < before + count:
                time.sleep(0.02)
            result["fetch_pages_per_s"] = _rate(count, time.perf_counter() - start)
            fetch_cpu_ms = 1000 * (_cpu_s(fetcher.proc.pid) - cpu) / count
            _cleanup(fns)

            def nlp_run(tag: str) -> float:
                items = [ingest.Submission(f"{tag}-{i}", s.kind, s.payload, s.origin)
                         for i, s in enumerate(articles)]  # fmt: skip
                return _rate(len(items), _submit_and_wait(items, nns))

            nlp_run("warm")
            say(f"bench: {count} articles through {processes} NLP process(es), without fetching")
            assert nlp.proc is not None
            pids = [nlp.proc.pid, *nlp.children()]
            cpu = sum(map(_cpu_s, pids))
            alone = [nlp_run("alone-1")]
            nlp_cpu_ms = 1000 * (sum(map(_cpu_s, pids)) - cpu) / count

            def beside(rate: float | None, tag: str) -> tuple[float, float]:
                """NLP articles/s with fetching beside (at ``rate`` pages/s, or flat out), and
                the pages/s fetched meanwhile."""
                stop = threading.Event()

                def keep_fetching() -> None:
                    owed, last = 0.0, time.perf_counter()
                    while not stop.is_set():
                        now = time.perf_counter()
                        if rate is None:
                            owed = max(0.0, 50.0 - broker.llen(fns.fetch_queue))
                        else:
                            owed += rate * (now - last)
                        last = now
                        queue(int(owed))
                        owed -= int(owed)
                        _cleanup_payloads(fns)
                        stop.wait(0.1)

                feeder = threading.Thread(target=keep_fetching, daemon=True)
                fetched = _fetched(fns)
                feeder.start()
                t0 = time.perf_counter()
                nlp_rate = nlp_run(tag)
                seconds = time.perf_counter() - t0
                stop.set()
                feeder.join()
                return nlp_rate, _rate(_fetched(fns) - fetched, seconds)

            # Alternated, so that what else the machine does weighs on both alike.
            paced_runs: list[tuple[float, float]] = []
            for n in range(ROUNDS):
                say("bench: the same, with the fetch worker fetching beside at the NLP's rate")
                paced_runs.append(beside(statistics.median(alone), f"beside-{n}"))
                say("bench: the same, without fetching")
                alone.append(nlp_run(f"alone-{n + 2}"))
            say("bench: the same, with the fetch worker fetching beside flat out")
            flat, flat_fetch = beside(None, "flat-out")
        finally:
            fetcher.stop()
            nlp.stop()
            _cleanup(fns)
            _cleanup(nns)
            shutil.rmtree(tmp, ignore_errors=True)
    without = statistics.median(alone)
    paced = statistics.median(r for r, _ in paced_runs)
    paced_fetch = statistics.median(f for _, f in paced_runs)
    share = fetch_cpu_ms / nlp_cpu_ms if nlp_cpu_ms else 0.0
    result.update(
        # CPU, which the machine's other load does not change much: one page's fetching
        # (the fetch worker's process) against one article's processing (the NLP workers').
        fetch_cpu_ms_per_page=round(fetch_cpu_ms, 2),
        nlp_cpu_ms_per_article=round(nlp_cpu_ms, 2),
        fetch_cpu_vs_nlp_cpu=round(share, 3),
        # What that makes of the NLP throughput, CPU-bound, fetching at the NLP's own rate.
        nlp_with_vs_without_by_cpu=round(1 / (1 + share), 3),
        nlp_processes=processes,
        nlp_articles_per_s_without_fetch=round(without, 2),
        nlp_articles_per_s_without_fetch_runs=alone,
        # Fetching as fast as the NLP workers process: watch's steady state.
        nlp_articles_per_s_with_fetch=paced,
        nlp_articles_per_s_with_fetch_runs=[r for r, _ in paced_runs],
        fetch_pages_per_s_beside=paced_fetch,
        nlp_with_vs_without=round(paced / without, 3) if without else None,
        # Fetching flat out beside them (pages piling up faster than they are processed).
        nlp_articles_per_s_with_unpaced_fetch=flat,
        fetch_pages_per_s_unpaced_beside=flat_fetch,
        nlp_with_unpaced_vs_without=round(flat / without, 3) if without else None,
    )
    return result


_FETCHED: dict[str, int] = {}


def _cleanup_payloads(ns: Settings) -> None:
    """Drop the fetched pages as they come (nobody processes them), counting them."""
    from worker.delivery.ledger import Ledger, parse_inflight_member

    ledger = Ledger(ns)
    members = ledger.redis.zrange(ledger.keys.inflight, 0, -1)
    if not members:
        return
    with ledger.redis.pipeline(transaction=False) as pipe:
        for member in members:
            ref = parse_inflight_member(member)
            pipe.delete(ledger.keys.payload(ref.id, ref.submission))
        pipe.zrem(ledger.keys.inflight, *members)
        pipe.execute()
    _FETCHED[ns.key_prefix] = _FETCHED.get(ns.key_prefix, 0) + len(members)


def _fetched(ns: Settings) -> int:
    return _FETCHED.get(ns.key_prefix, 0) + _inflight(ns)
