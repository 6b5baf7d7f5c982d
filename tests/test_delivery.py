"""Delivery guarantees under failure: workers killed, Redis restarted, PostgreSQL away,
the same articles sent twice. Each test has its own keys, queue, table and worker."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from conftest import Worker, namespace, newsworker, settings_overrides

from config import Settings
from worker.delivery.ledger import Keys, Ledger
from worker.embedded import WorkerProcess, redis_server_binary


def write_articles(path: Path, n: int, dev_pages: list[dict], tag: str) -> list[str]:
    """n articles (the dev pages' scraped text, reused with new ids) as JSONL; their ids."""
    ids = []
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            page = dev_pages[i % len(dev_pages)]
            ids.append(f"{tag}-{i}")
            fh.write(json.dumps({"id": ids[-1], "text": page["page_text"]}, ensure_ascii=False))
            fh.write("\n")
    return ids


def landed(settings: Settings, ids: list[str]) -> Counter[str]:
    states = Ledger(settings).states(ids)
    return Counter(s.split(":")[0] if s else "pending" for s in states)


def wait_landed(settings: Settings, ids: list[str], timeout: float) -> Counter[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            counts = landed(settings, ids)
        except redis.ConnectionError:  # restarting, or still loading its append-only file
            counts = Counter(pending=len(ids))
        if not counts["pending"] or time.monotonic() > deadline:
            return counts
        time.sleep(1)


def submit_until(env: dict[str, str], batch: Path, ids: list[str], worker, processed: int) -> None:
    """Submit the batch and return once ``processed`` of its articles landed."""
    out = newsworker("submit", str(batch), env=env)
    assert json.loads(out.stdout)["queued"] == len(ids), out.stderr
    settings = Settings(**settings_overrides(env))
    while landed(settings, ids)["processed"] < processed:
        assert worker.proc.poll() is None, worker.tail()
        time.sleep(0.05)
    assert password_free(out.stdout + out.stderr, env)


def password_free(text: str, env: dict[str, str]) -> bool:
    """No Redis password of ``env`` in ``text``."""
    password = urlsplit(env.get("NEWSWORKER_REDIS_URL", "")).password
    return not password or password not in text


def stream_ids(settings: Settings) -> Counter[str]:
    store = Ledger(settings)
    entries = store.redis.xrange(store.keys.stream)
    return Counter(fields[b"id"].decode() for _, fields in entries)


def postgres_ids(settings: Settings) -> Counter[str]:
    with psycopg.connect(os.environ["NEWSWORKER_POSTGRES_DSN"]) as conn:
        rows = conn.execute(f"SELECT id FROM {settings.postgres_schema}.articles").fetchall()
    return Counter(r[0] for r in rows)


def where_are(settings: Settings, ids: list[str]) -> list[tuple]:
    """For a failure message: what Redis still holds of the articles that did not land."""
    store = Ledger(settings)
    r = store.redis
    out = []
    for i, s in zip(ids, store.states(ids)):
        if s is None:
            held = r.keys(store.keys.payload(i, "*"))
            out.append((i, "payload" if held else "no-payload"))
            for key in (settings.queue, "unacked"):
                t = r.type(key).decode()
                if t == "list":
                    hits = [m for m in r.lrange(key, 0, -1) if i.encode() in m]
                elif t == "hash":
                    hits = [v for v in r.hvals(key) if i.encode() in v]
                else:
                    hits = []
                out.append((key, t, len(hits), [h[:300] for h in hits]))
    return out


def kill_9_mid_batch(
    tmp_path: Path, env: dict[str, str], ids: list[str], processed: int
) -> tuple[Counter[str], WorkerProcess]:
    """Submit ``ids`` (written to batch.jsonl) to a worker, kill -9 it (main process and pool)
    once ``processed`` have landed, start a second worker: how they all landed, and the second."""
    settings = Settings(**settings_overrides(env))
    first = Worker(tmp_path / "w1.log", concurrency=2, env=env).start()
    submit_until(env, tmp_path / "batch.jsonl", ids, first, processed=processed)
    os.killpg(first.proc.pid, signal.SIGKILL)  # the main process and its pool, mid-batch
    first.proc.wait()
    assert landed(settings, ids)["pending"] > 0  # it really died with work left
    second = Worker(tmp_path / "w2.log", concurrency=2, env=env).start()
    try:
        return wait_landed(settings, ids, timeout=300), second
    finally:
        second.stop()


def test_kill_9_mid_batch_loses_and_duplicates_nothing(tmp_path, dev_pages):
    env = namespace(sinks="redis,postgres", task_time_limit=15, visibility_timeout=20)
    settings = Settings(**settings_overrides(env))
    # 80: enough that the worker dies holding batches of every stage (16 a batch, prefetched)
    ids = write_articles(tmp_path / "batch.jsonl", 80, dev_pages, "kill")
    counts, second = kill_9_mid_batch(tmp_path, env, ids, processed=20)
    assert counts == Counter(processed=80), (counts, where_are(settings, ids), second.tail())
    assert stream_ids(settings) == Counter({i: 1 for i in ids})
    assert postgres_ids(settings) == Counter({i: 1 for i in ids})


def test_redis_restart_mid_batch_loses_nothing_and_resumes_at_once(tmp_path, dev_pages):
    """With the default settings (visibility timeout 1 h): the worker starts new tasks within
    5 s of Redis answering again, and every article lands within 60 s of it. Batches of 5, so
    that Redis goes down with most of the work left: with 4 batches of 15 the last three could
    land in the instant between the first landing and the restart, and then no task was left
    to start (what looked like a worker taking no new message)."""
    password = "pw-" + os.urandom(6).hex()
    data = tmp_path / "redis"
    data.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def start_redis() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
             "--requirepass", password, "--appendonly", "yes", "--save", "",
             "--dir", str(data)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return proc
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis did not start")

    redis_proc = start_redis()
    env = namespace(redis_url=f"redis://:{password}@127.0.0.1:{port}/0", batch_size=5)
    settings = Settings(**settings_overrides(env))
    ids = write_articles(tmp_path / "batch.jsonl", 60, dev_pages, "restart")
    worker = Worker(tmp_path / "w.log", concurrency=2, env=env).start()
    try:
        submit_until(env, tmp_path / "batch.jsonl", ids, worker, processed=10)
        redis_proc.terminate()  # a clean restart: the append-only file holds everything
        redis_proc.wait(30)
        time.sleep(2)
        redis_proc = start_redis()
        ledger = Ledger(settings)
        while True:  # answering, its append-only file loaded
            with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                before = set(ledger.redis.scan_iter(ledger.keys.deliveries("*")))
                break
            time.sleep(0.05)
        answering = time.monotonic()
        assert landed(settings, ids)["pending"] > 0  # Redis went down with work left
        while not set(ledger.redis.scan_iter(ledger.keys.deliveries("*"))) - before:
            assert time.monotonic() - answering < 5, "no task started 5 s after Redis came back"
            time.sleep(0.1)
        counts = wait_landed(settings, ids, timeout=60 - (time.monotonic() - answering))
        assert counts == Counter(processed=60), worker.tail()
        assert stream_ids(settings) == Counter({i: 1 for i in ids})
        assert worker.proc.poll() is None
        assert password_free(worker.log.read_text(errors="replace"), env)
    finally:
        worker.stop()
        redis_proc.terminate()
        redis_proc.wait(30)


@pytest.mark.parametrize("lost", ["popped", "stray"])
def test_messages_a_redis_restart_leaves_behind_go_on_within_seconds(tmp_path, dev_pages, lost):
    """With the default settings (visibility timeout 1 h), what a Redis restart can leave: a
    message a BRPOP took as the server went down (``popped``: gone — the sweeper sends the
    articles in flight again once no message is left anywhere), or one a worker took as its
    connection dropped (``stray``: in kombu's ``unacked``, held by no worker — the sweeper puts
    it back on its queue). Either way every article lands once, within seconds. On a Redis of
    its own: kombu's ``unacked`` is one hash for every namespace of a server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        env = namespace(redis_url=f"redis://127.0.0.1:{port}/0", batch_size=4)
        settings = Settings(**settings_overrides(env))
        ids = write_articles(tmp_path / "lost.jsonl", 8, dev_pages, "orphan")
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            time.sleep(0.05)
        out = newsworker("submit", str(tmp_path / "lost.jsonl"), env=env)  # no worker yet
        assert json.loads(out.stdout)["queued"] == 8, out.stderr
        ledger = Ledger(settings)
        messages = [m for q in ledger.keys.queue_lists for m in ledger.redis.lrange(q, 0, -1)]
        assert len(messages) == 2
        assert ledger.redis.delete(*ledger.keys.queue_lists) >= 1  # the messages are gone...
        if lost == "stray":  # ...into kombu's unacked, taken 20 s ago by a worker now gone
            for message in messages:
                raw = json.loads(message)
                tag = raw["properties"]["delivery_tag"]
                ledger.redis.hset("unacked", tag, json.dumps([raw, "", settings.queue]))
                ledger.redis.zadd("unacked_index", {tag: time.time() - 20})
        started = time.monotonic()
        worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
        try:
            counts = wait_landed(settings, ids, timeout=90)
            took = time.monotonic() - started
        finally:
            worker.stop()
        assert counts == Counter(processed=8), worker.tail()
        assert stream_ids(settings) == Counter({i: 1 for i in ids})
        assert took < 90
        event = {"popped": "stalled_articles_requeued", "stray": "stray_messages_restored"}
        assert event[lost] in worker.log.read_text()
        assert not ledger.redis.hlen("unacked")
    finally:
        server.terminate()
        server.wait(30)


class Proxy:
    """A TCP proxy to PostgreSQL that can be switched off (connections refused, open ones cut)."""

    def __init__(self, dsn: str) -> None:
        parts = urlsplit(dsn)
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        host = query.get("host") or parts.hostname or "127.0.0.1"
        pg_port = parts.port or 5432
        self.upstream: tuple[int, object] = (
            (socket.AF_UNIX, f"{host}/.s.PGSQL.{pg_port}")
            if host.startswith("/")
            else (socket.AF_INET, (host, pg_port))
        )
        self.user = parts.username or "postgres"
        self.database = parts.path.lstrip("/") or "postgres"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{self.database}"

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        if self.listener:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
            self.listener.close()
            self.listener = None
        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            family, address = self.upstream
            server = socket.socket(family)
            server.connect(address)  # type: ignore[arg-type]
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass
        finally:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


def test_a_killed_workers_held_batches_land_within_90_s_with_the_defaults(tmp_path, dev_pages):
    """Two workers; the one holding prefetched batches is killed (-9, with its pool): with the
    default visibility timeout (1 h) the other gives its messages back after its heartbeats
    stop, and every article lands within 90 s of the kill, once."""
    env = namespace()
    settings = Settings(**settings_overrides(env))
    ids = write_articles(tmp_path / "batch.jsonl", 60, dev_pages, "held")
    ledger = Ledger(settings)

    def workers() -> set[str]:
        return {w.decode() for w in ledger.redis.zrange(ledger.keys.workers, 0, -1)}

    survivor = Worker(tmp_path / "w2.log", concurrency=1, env=env).start()
    doomed = Worker(tmp_path / "w1.log", concurrency=1, env=env)
    try:
        mine = workers()
        doomed.start()
        [doomed_id] = workers() - mine
        out = newsworker("submit", str(tmp_path / "batch.jsonl"), env=env)
        assert json.loads(out.stdout)["queued"] == len(ids), out.stderr
        deadline = time.monotonic() + 60
        while ledger.redis.hlen(ledger.keys.held(doomed_id)) < 2:  # running one, holding one
            assert time.monotonic() < deadline, doomed.tail()
            time.sleep(0.01)
        os.killpg(doomed.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        doomed.proc.wait()
        assert landed(settings, ids)["pending"] > 0
        counts = wait_landed(settings, ids, timeout=90)
        took = time.monotonic() - killed
    finally:
        survivor.stop()
        doomed.stop()
    assert counts == Counter(processed=60), (counts, took, survivor.tail())
    assert took < 90
    assert "worker_gone" in survivor.log.read_text()
    assert stream_ids(settings) == Counter({i: 1 for i in ids})


def test_postgres_outage_delays_but_loses_nothing(tmp_path, dev_pages):
    proxy = Proxy(os.environ["NEWSWORKER_POSTGRES_DSN"])
    proxy.up()
    env = namespace(sinks="postgres,redis", postgres_dsn=proxy.dsn)
    settings = Settings(**settings_overrides(env))
    ids = write_articles(tmp_path / "batch.jsonl", 40, dev_pages, "pgdown")
    worker = Worker(tmp_path / "w.log", concurrency=2, env=env).start()
    try:
        submit_until(env, tmp_path / "batch.jsonl", ids, worker, processed=3)
        proxy.down()
        time.sleep(8)
        stuck = landed(settings, ids)
        proxy.up()
        counts = wait_landed(settings, ids, timeout=300)
    finally:
        worker.stop()
        proxy.down()
    assert stuck["pending"] > 0  # the outage held articles back
    assert counts == Counter(processed=40), worker.tail()
    assert postgres_ids(settings) == Counter({i: 1 for i in ids})
    assert stream_ids(settings) == Counter({i: 1 for i in ids})
    assert not [d for d in Ledger(settings).dead_entries() if d.id in ids]
    assert "SinkUnavailable" in worker.log.read_text() or "Retry" in worker.log.read_text()


def test_same_articles_twice_are_stored_once(tmp_path, dev_pages):
    env = namespace(sinks="redis,postgres,jsonl", jsonl_path=tmp_path / "out.jsonl")
    settings = Settings(**settings_overrides(env))
    ids = write_articles(tmp_path / "batch.jsonl", 24, dev_pages, "twice")
    worker = Worker(tmp_path / "w.log", concurrency=2, env=env).start()
    try:
        # Twice back to back: most of the second copies are queued before the first land.
        first = newsworker("submit", str(tmp_path / "batch.jsonl"), env=env)
        second = newsworker("submit", str(tmp_path / "batch.jsonl"), "--wait", env=env)
        assert json.loads(first.stdout)["queued"] == 24
        assert json.loads(second.stdout)["pending"] == 0, second.stdout
        assert wait_landed(settings, ids, 120) == Counter(processed=24)
        # A third time, after they landed: reported as duplicates, nothing queued.
        third = json.loads(newsworker("submit", str(tmp_path / "batch.jsonl"), env=env).stdout)
        assert third == {"submitted": 24, "queued": 0, "duplicates": 24}
    finally:
        worker.stop()
    assert stream_ids(settings) == Counter({i: 1 for i in ids})
    assert postgres_ids(settings) == Counter({i: 1 for i in ids})
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    assert Counter(json.loads(line)["id"] for line in lines) == Counter({i: 1 for i in ids})
    records = [Keys(settings).record(i) for i in ids]
    assert Ledger(settings).redis.exists(*records) == 24


def test_force_processes_again_once(tmp_path, dev_pages, running_worker, settings):
    """On the shared worker: ids of this test's own, counted among the stream's entries."""
    ids = write_articles(tmp_path / "batch.jsonl", 3, dev_pages, f"force-{os.urandom(4).hex()}")
    newsworker("submit", str(tmp_path / "batch.jsonl"), "--wait")
    again = newsworker("submit", str(tmp_path / "batch.jsonl"), "--wait", "--force")
    assert json.loads(again.stdout)["processed"] == 3, again.stdout + running_worker.tail()
    mine = {i: n for i, n in stream_ids(settings).items() if i in ids}
    assert mine == {i: 2 for i in ids}


def test_a_message_that_kills_its_worker_process_is_dead_lettered_after_max_deliveries(tmp_path):
    """NEWSWORKER_MAX_DELIVERIES=2: the task of a long article kills its pool process
    (here: SIGKILL while it runs) at its first and second delivery; the third delivery
    dead-letters the article as a poison message, with its payload; the worker lives on."""
    env = namespace(max_deliveries=2, max_text_chars=2_000_000, dead_payload_bytes=50_000_000)
    settings = Settings(**settings_overrides(env))
    names = "Путин, Эрдоган, Меркель, Макрон, Москва, Анкара, Берлин, Париж, «Газпром», ООН. "
    path = tmp_path / "poison.json"
    path.write_text(json.dumps({"id": "poison", "text": names * 20_000}, ensure_ascii=False))
    ledger = Ledger(settings)
    worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
    try:
        assert json.loads(newsworker("submit", str(path), env=env).stdout)["queued"] == 1
        key = None  # the deliveries counter of the message we kill, counted at each start
        for delivery in (1, 2):
            deadline = time.monotonic() + 120
            while True:  # a task of it running (its count still there a moment later)
                keys = [key] if key else list(ledger.redis.scan_iter(ledger.keys.deliveries("*")))
                running = [k for k in keys if int(ledger.redis.get(k) or 0) == delivery]
                if running:
                    time.sleep(0.2)
                    if int(ledger.redis.get(running[0]) or 0) == delivery:
                        key = running[0]
                        break
                assert time.monotonic() < deadline, (delivery, keys, worker.tail())
                time.sleep(0.05)
            for pool in worker.children():  # the one running it (and a zombie not yet reaped)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pool, signal.SIGKILL)
        assert wait_landed(settings, ["poison"], timeout=120) == Counter(dead=1), worker.tail()
        assert worker.proc.poll() is None
    finally:
        worker.stop()
    [dead] = ledger.dead_entries()
    assert dead.reason == "poison message: delivered 3 times without finishing"
    assert dead.stage in ("clean", "entities")  # the one running at the kills
    assert json.loads(dead.payload)["id"] == "poison"


def test_under_load_articles_go_through_to_the_end_first(tmp_path, dev_pages):
    """30 articles submitted at once (30 chains): the first record lands long before the last
    article is cleaned, as a later stage's task is taken before an earlier stage's."""
    env = namespace(batch_size=1, prefetch=1, log_level="INFO")
    write_articles(tmp_path / "burst.jsonl", 30, dev_pages, "burst")
    worker = Worker(tmp_path / "w.log", concurrency=1, env=env).start()
    try:
        out = newsworker("submit", str(tmp_path / "burst.jsonl"), "--wait", env=env)
        assert json.loads(out.stdout)["processed"] == 30, out.stdout + worker.tail()
    finally:
        worker.stop()
    events = [json.loads(line).get("event") for line in worker.log.read_text().splitlines()
              if line.startswith("{")]  # fmt: skip
    cleaned = [i for i, e in enumerate(events) if e == "cleaned"]
    delivered = [i for i, e in enumerate(events) if e == "delivered"]
    assert len(cleaned) == len(delivered) == 30
    # Breadth first (one FIFO queue), all 30 would be cleaned before the first is delivered.
    assert delivered[0] < cleaned[3], (delivered[:3], cleaned[:5])
    assert sum(d < cleaned[-1] for d in delivered) >= 20
