"""Scale-out across hosts: two hosts in network namespaces made by this test (``ip netns``, one
veth pair between them, no route anywhere else). Host A runs Redis (the broker and the state);
workers on host B consume from it over the veth. Host B is cut off mid-batch (its link goes
down: packets vanish, no connection is closed), a worker on host A takes over, and every
article lands exactly once — also after host B comes back and its stale work resumes.

Needs root and iproute2; skipped, saying why, without them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from conftest import BIN, namespace, newsworker, settings_overrides
from test_delivery import landed, stream_ids, wait_landed, write_articles

from config import Settings
from worker.embedded import WorkerProcess, redis_server_binary

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None,
    reason="needs root and iproute2 (ip netns) to make the test's hosts",
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


class Hosts:
    """Namespaces A (10.N.0.1) and B (10.N.0.2), joined by one veth pair."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.a, self.b = f"nw-a-{tag}", f"nw-b-{tag}"
        self.link_a, self.link_b = f"nwa{tag}", f"nwb{tag}"
        net = int(tag[:2], 16) % 200 + 20
        self.addr_a, self.addr_b = f"10.{net}.0.1", f"10.{net}.0.2"

    def __enter__(self) -> Hosts:
        try:
            ip("netns", "add", self.a)
            ip("netns", "add", self.b)
        except subprocess.CalledProcessError as exc:
            self.__exit__()
            pytest.skip(f"cannot make network namespaces here: {exc.stderr.decode().strip()}")
        ip("link", "add", self.link_a, "netns", self.a, "type", "veth", "peer", "name",
           self.link_b, "netns", self.b)  # fmt: skip
        for ns, link, addr in ((self.a, self.link_a, self.addr_a), (self.b, self.link_b,
                                                                      self.addr_b)):  # fmt: skip
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", ns, "addr", "add", f"{addr}/24", "dev", link)
            ip("-n", ns, "link", "set", link, "up")
        return self

    def __exit__(self, *_: object) -> None:
        for ns in (self.a, self.b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=30)

    def cut_b(self) -> None:
        ip("-n", self.b, "link", "set", self.link_b, "down")

    def restore_b(self) -> None:
        ip("-n", self.b, "link", "set", self.link_b, "up")

    def run_in(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]


def start_redis(hosts: Hosts, tmp: Path) -> tuple[subprocess.Popen[bytes], Path]:
    """Redis on host A: TCP on A's address, and a unix socket the test itself reads through
    (a socket file is not confined to a network namespace)."""
    sock = tmp / "a.sock"
    proc = subprocess.Popen(
        [*hosts.run_in(hosts.a), redis_server_binary(), "--bind", hosts.addr_a, "--port", "6379",
         "--protected-mode", "no", "--unixsocket", str(sock), "--save", "", "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        if sock.exists():
            return proc, sock
        time.sleep(0.05)
    raise RuntimeError("redis on host A did not start")


def worker_on(hosts: Hosts, ns: str, env: dict[str, str], log: Path, ping_broker: str):
    command = [*hosts.run_in(ns), str(BIN / "newsworker"), "worker", "-c", "2", "-n"]
    return WorkerProcess(lambda name: [*command, name], {**os.environ, **env}, ping_broker, log)


def test_host_b_cut_off_mid_batch_every_article_lands_once(tmp_path, dev_pages):
    with Hosts() as hosts:
        redis_proc, sock = start_redis(hosts, tmp_path)
        local = f"unix://{sock}?db=0"  # how the test (and host A's tools) reach it
        remote = f"redis://{hosts.addr_a}:6379/0"  # how host B reaches it
        env = namespace(visibility_timeout=20, task_time_limit=15, batch_size=4)
        settings = Settings(**settings_overrides({**env, "NEWSWORKER_REDIS_URL": local}))
        ping = settings.effective_broker_url
        ids = write_articles(tmp_path / "batch.jsonl", 32, dev_pages, "netns")
        on_b = worker_on(hosts, hosts.b, {**env, "NEWSWORKER_REDIS_URL": remote},
                         tmp_path / "b.log", ping)  # fmt: skip
        on_a = None
        try:
            on_b.start()
            out = newsworker("submit", str(tmp_path / "batch.jsonl"),
                             env={**env, "NEWSWORKER_REDIS_URL": local})  # fmt: skip
            assert json.loads(out.stdout)["queued"] == 32, out.stderr
            while landed(settings, ids)["processed"] < 8:
                assert on_b.proc.poll() is None, on_b.tail()
                time.sleep(0.05)
            b_log = on_b.log.read_text(errors="replace")
            assert f"@{hosts.addr_a}:6379/0" in b_log  # connected over the veth
            assert '"event": "delivered"' in b_log  # B did the work so far
            hosts.cut_b()  # mid-batch: B holds messages and runs tasks
            cut_at = landed(settings, ids)
            assert cut_at["pending"] > 0
            time.sleep(3)
            assert landed(settings, ids)["processed"] <= cut_at["processed"] + 8  # B is cut off
            on_a = worker_on(hosts, hosts.a, {**env, "NEWSWORKER_REDIS_URL": local},
                             tmp_path / "a.log", ping).start()  # fmt: skip
            counts = wait_landed(settings, ids, timeout=300)
            assert counts == Counter(processed=32), (counts, on_a.tail())
            assert stream_ids(settings) == Counter({i: 1 for i in ids})
            # B comes back; whatever it was doing resumes or fails: still once each.
            hosts.restore_b()
            time.sleep(8)
            assert stream_ids(settings) == Counter({i: 1 for i in ids})
        finally:
            for w in (on_a, on_b):
                if w is not None and w.proc is not None and w.proc.poll() is None:
                    os.killpg(w.proc.pid, signal.SIGKILL)
                    w.proc.wait()
            redis_proc.terminate()
            redis_proc.wait(30)
