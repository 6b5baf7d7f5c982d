"""``newsworker bench --soak MINUTES``: a steady load for a long while, with retention on.

A benchmark, not a test: it prints one JSON object. On a private Redis (so that its memory is
newsworker's alone) a real worker processes articles submitted at a steady rate; records,
state, stream entries, dead letters and the grouping index are kept for one *window* (a tenth
of the run, at least a minute: NEWSWORKER_RECORD_TTL, NEWSWORKER_STREAM_MAX_AGE,
NEWSWORKER_DEAD_MAX_AGE and NEWSWORKER_STORY_WINDOW scaled down so that a 30-minute run sees
retention at work many times over). A consumer group reads slowly — each entry only once it is
half a window old, so it always lags — and must still get every record. Every few seconds the
run samples Redis's memory, the worker's resident memory (main process and pool) and the
stream, and each key family's keys and bytes (``MEMORY USAGE``; the families of the key map in
``worker.delivery.ledger``); after the first window both memories should be flat: it prints
their slopes, Redis's also without what waits in flight (payloads and stage results follow
the backlog, that is the machine's load), and each family's.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config import Settings, get_settings
from worker import ingest

Say = Callable[[str], None]

# The key families of articles in flight: the submitted payloads and the stages' results.
INFLIGHT_FAMILIES = ("payload", "doc")

# Parts of Redis's used_memory sampled beside it (MB): the data, the per-key and per-client
# overhead, the Lua scripts, the AOF buffer.
MEMORY_PARTS = (
    "used_memory_dataset", "used_memory_overhead", "used_memory_scripts", "mem_clients_normal",
    "mem_aof_buffer",
)  # fmt: skip


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def family(key: bytes, prefix: str) -> str:
    """The key map's family of a key (``worker.delivery.ledger``): ``nw:article:…`` →
    ``article``, the grouping index by its kind (``grp:docs``, ``grp:story``, …), the broker's
    own keys by theirs."""
    text = key.decode(errors="replace")
    if not text.startswith(prefix + ":"):
        if text.startswith("_kombu.binding."):
            return "kombu-binding"
        return text.split("\x06")[0] if "\x06" in text else text
    parts = text[len(prefix) + 1 :].split(":")
    if parts[0] == "grp" and len(parts) > 1:
        if parts[1] == "story":
            return "grp:story:members" if parts[-1] == "members" else "grp:story"
        return f"grp:{parts[-1]}"
    return parts[0]


def families(client: Any, prefix: str) -> dict[str, dict[str, int]]:
    """Keys and bytes (``MEMORY USAGE``) of each key family."""
    out: dict[str, dict[str, int]] = {}
    for key in client.scan_iter(count=1000):
        f = out.setdefault(family(key, prefix), {"keys": 0, "bytes": 0})
        f["keys"] += 1
        f["bytes"] += client.memory_usage(key, samples=0) or 0
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["bytes"]))


def _family_mb(sample: dict[str, Any], name: str) -> float:
    return sample["families"].get(name, {}).get("bytes", 0) / 2**20


def _inflight_mb(sample: dict[str, Any]) -> float:
    return sum(_family_mb(sample, name) for name in INFLIGHT_FAMILIES)


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour."""
    if len(points) < 2:
        return 0.0
    xs, ys = zip(*points)
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return 3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / var


def slopes(samples: list[dict[str, Any]], window: float) -> dict[str, Any]:
    """The run's figures over its samples after the first window (also of a saved run: its
    ``samples``): slopes per hour of Redis's memory (whole; without what waits in flight,
    which follows the backlog — the machine's load —, not the time the run has gone on; its
    parts; each key family) and of the worker's resident memory (main process and pool; in
    the second half of the steady part too: the pool's high-water marks rise fast at first)."""
    steady = [s for s in samples if s["t"] >= window]
    late = steady[len(steady) // 2 :]

    def slope(rows: list[dict[str, Any]], value: Callable[[dict[str, Any]], float]) -> float:
        return round(slope_per_hour([(s["t"], value(s)) for s in rows]), 2)

    return {
        "redis_mb_slope_per_h_after_first_window": slope(steady, lambda s: s["redis_mb"]),
        "redis_mb_slope_per_h_after_first_window_without_inflight": slope(
            steady, lambda s: s["redis_mb"] - _inflight_mb(s)
        ),
        "inflight_slope_per_h_after_first_window": slope(steady, lambda s: s["inflight"]),
        "worker_rss_mb_steady_mean": round(statistics.fmean(s["worker_rss_mb"] for s in steady), 1)
        if steady
        else 0.0,
        "worker_rss_mb_slope_per_h_after_first_window": slope(steady, lambda s: s["worker_rss_mb"]),
        "worker_rss_mb_slope_per_h_second_half": slope(late, lambda s: s["worker_rss_mb"]),
        "worker_main_rss_mb_slope_per_h_after_first_window": slope(
            steady, lambda s: s["worker_main_rss_mb"]
        ),
        "memory_parts_mb_slope_per_h_after_first_window": {
            k: slope([s for s in steady if k in s], lambda s, k=k: s[k]) for k in MEMORY_PARTS
        },
        "families_mb_slope_per_h_after_first_window": {
            name: slope(steady, lambda s, name=name: _family_mb(s, name))
            for name in sorted({n for s in steady for n in s["families"]})
        },
    }


def run(
    paths: list[str],
    minutes: float,
    rate: float,
    processes: int,
    say: Say,
    settings: Settings,
) -> dict[str, Any]:
    from worker import producer
    from worker.bench import _env, load_articles
    from worker.consumer import consume
    from worker.delivery.ledger import Keys, connect
    from worker.embedded import WorkerProcess, start_redis, worker_command

    duration = minutes * 60
    window = max(60.0, duration / 10)
    home = Path(tempfile.mkdtemp(prefix="nwsoak-"))
    private = Settings(home=home)
    redis_proc = start_redis(private)
    # This process's Celery app (which sends the chains) reads the environment when imported.
    os.environ.update(NEWSWORKER_HOME=str(home), NEWSWORKER_REDIS_URL="", NEWSWORKER_BROKER_URL="")
    get_settings.cache_clear()
    ns = settings.model_copy(
        update={
            "redis_url": f"unix://{private.socket_path}?db=0",
            "broker_url": "",
            "key_prefix": "nwsoak",
            "queue": "nwsoak",
            "sinks": "redis",
            "record_ttl": int(window),
            "stream_max_age": window,
            "stream_maxlen": 0,
            "dead_max_age": window,
            "story_window": int(window),  # the grouping index keeps a window too
            "retention_interval": max(1.0, window / 12),
            "visibility_timeout": int(window) - 1,
            "task_time_limit": min(120.0, window / 2 - 1),
            "metrics_port": 0,
        }
    )
    client = connect(ns)
    keys = Keys(ns)
    stream = keys.stream
    client.xgroup_create(stream, "slow", id="0", mkstream=True)
    templates = load_articles(paths, min(200, max(1, int(rate * 60))))
    log = home / "worker.log"
    command = functools.partial(worker_command, ns, processes)
    env = _env(
        ns,
        NEWSWORKER_RECORD_TTL=str(ns.record_ttl),
        NEWSWORKER_STREAM_MAX_AGE=str(ns.stream_max_age),
        NEWSWORKER_STREAM_MAXLEN="0",
        NEWSWORKER_DEAD_MAX_AGE=str(ns.dead_max_age),
        NEWSWORKER_STORY_WINDOW=str(ns.story_window),
        NEWSWORKER_RETENTION_INTERVAL=str(ns.retention_interval),
        NEWSWORKER_VISIBILITY_TIMEOUT=str(ns.visibility_timeout),
        NEWSWORKER_TASK_TIME_LIMIT=str(ns.task_time_limit),
        NEWSWORKER_METRICS_PORT="0",
    )
    worker = WorkerProcess(command, env, ns.effective_broker_url, log)
    seen: set[str] = set()
    catch_up = threading.Event()
    stop_reading = threading.Event()

    def slowly(record: dict[str, Any]) -> None:
        """Read each entry only once it is half a window old."""
        seen.add(record["id"])
        landed = dt.datetime.fromisoformat(record["processed_at"]).timestamp()
        while not catch_up.is_set() and time.time() < landed + window / 2:
            time.sleep(0.05)

    def reader() -> None:
        while not stop_reading.is_set():
            consume(ns, "slow", slowly, consumer="slow-1", count=50, block_ms=500)

    dead: set[str] = set()  # gathered at every sample: dead letters, too, keep one window

    def dead_ids() -> set[str]:
        return {f[b"id"].decode() for _, f in client.xrange(keys.dead)}

    submitted: dict[str, str] = {}
    samples: list[dict[str, float]] = []
    try:
        worker.start()
        assert worker.proc is not None
        baseline = client.info("memory")["used_memory"]
        threading.Thread(target=reader, name="slow-consumer", daemon=True).start()
        say(f"soak: {minutes} min at {rate} articles/s, retention window {window:.0f} s")
        start = time.monotonic()
        due = 0.0
        next_sample = 0.0
        n = 0
        while (elapsed := time.monotonic() - start) < duration:
            due += rate * 0.5
            batch = []
            while due >= 1:
                t = templates[n % len(templates)]
                batch.append(ingest.Submission(f"soak-{n}-{uuid.uuid4().hex[:6]}", t.kind,
                                               t.payload, t.origin))  # fmt: skip
                n += 1
                due -= 1
            if batch:
                submitted.update(producer.submit(batch, ns).queued)
            if elapsed >= next_sample:
                dead |= dead_ids()
                memory = client.info("memory")
                main_rss = _rss_mb(worker.proc.pid)
                rss = main_rss + sum(map(_rss_mb, worker.children()))
                group = {g["name"]: g for g in client.xinfo_groups(stream)}[b"slow"]
                samples.append({
                    "t": round(elapsed, 1),
                    "redis_mb": round(memory["used_memory"] / 2**20, 2),
                    "worker_rss_mb": round(rss, 1),
                    "worker_main_rss_mb": round(main_rss, 1),
                    "stream_entries": client.xlen(stream),
                    # not given yet + given and not acknowledged
                    "slow_group_behind": (group.get("lag") or 0) + group["pending"],
                    "keys": client.dbsize(),
                    "inflight": client.zcard(keys.inflight),  # a backlog holds stage results
                    **{k: round(memory[k] / 2**20, 2) for k in MEMORY_PARTS if k in memory},
                    "families": families(client, ns.key_prefix),
                })  # fmt: skip
                next_sample += max(5.0, window / 8)
                last = samples[-1]
                say(f"soak: {last['t']:.0f}s redis {last['redis_mb']} MB, worker "
                    f"{last['worker_rss_mb']} MB, stream {last['stream_entries']}")  # fmt: skip
            time.sleep(max(0.0, start + elapsed + 0.5 - time.monotonic()))
        # Every article must reach the slow group or the dead letters (states expire with the
        # window, so they cannot tell what landed long ago).
        catch_up.set()
        deadline = time.monotonic() + window + 120
        while time.monotonic() < deadline:
            dead |= dead_ids()
            if set(submitted) <= seen | dead:
                break
            time.sleep(0.5)
        stop_reading.set()
    finally:
        worker.stop()
        redis_proc.terminate()
        redis_proc.wait(30)
        shutil.rmtree(home, ignore_errors=True)
    steady = [s for s in samples if s["t"] >= window]
    redis_points = [(s["t"], s["redis_mb"]) for s in steady]
    retained = rate * window  # articles whose record, state and entry are kept at a time
    steady_mb = statistics.fmean(p[1] for p in redis_points) if redis_points else 0.0
    per_article = (steady_mb * 2**20 - baseline) / retained if retained else 0.0
    ids = set(submitted)
    return {
        "minutes": minutes,
        "rate_articles_per_s": rate,
        "processes": processes,
        "window_s": window,
        "submitted": len(submitted),
        "processed": len(ids & seen),
        "dead": len(ids & dead),
        "redis_mb_steady_mean": round(steady_mb, 2),
        **slopes(samples, window),
        "redis_bytes_per_retained_article": round(per_article),
        "slow_group": {
            "read": len(ids & seen),
            "lost": len(ids - seen - dead),
            "max_behind": max((s["slow_group_behind"] for s in samples), default=0),
        },
        "samples": samples,
    }
