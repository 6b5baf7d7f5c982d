"""How the code starts: what a producer imports, how fast the CLI answers, and Celery's own
``celery -A worker`` against a real worker."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import BIN, ROOT, namespace

from worker.embedded import WorkerProcess


def _modules_after(statement: str) -> set[str]:
    code = f"import sys, json\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))  # after what the statement printed


def test_a_producer_imports_no_stage_library():
    loaded = _modules_after("import worker.producer")
    heavy = {"natasha", "numpy", "slovnet", "navec", "lxml", "pymorphy2"}
    assert not heavy & {m.split(".")[0] for m in loaded}
    assert "worker.tasks" not in loaded and "worker.pipeline" not in loaded


def test_importing_the_app_reads_no_setting():
    code = (
        "import os\n"
        "os.environ['NEWSWORKER_BATCH_SIZE'] = 'not a number'\n"  # would fail if read
        "import worker.celery_app, worker.producer, worker.delivery.signals\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_submit_help_loads_only_the_command_line():
    """`newsworker submit --help` answers from click alone (≈0.3 s here, against 2+ s with the
    worker's libraries): what it imports is checked, not timed — the machine is shared."""
    statement = (
        "from worker.cli import main\n"
        "try:\n"
        "    main(['submit', '--help'])\n"
        "except SystemExit as exit:\n"
        "    assert exit.code == 0, exit.code"
    )
    loaded = {m.split(".")[0] for m in _modules_after(statement)}
    heavy = {"celery", "kombu", "redis", "natasha", "numpy", "lxml", "pydantic", "psycopg"}
    assert not heavy & loaded, heavy & loaded


def test_celery_finds_the_app_by_the_package_name(tmp_path):
    """``celery -A worker worker`` starts a worker that ``celery -A worker inspect ping``
    reaches (Celery's own commands, as its documentation runs them)."""
    env = {**os.environ, **namespace()}
    from conftest import settings_overrides

    from config import Settings

    settings = Settings(**settings_overrides(env))
    celery = [str(BIN / "celery"), "-A", "worker"]

    def command(name: str) -> list[str]:
        return [*celery, "worker", "-Q", settings.queue, "-c", "1", "-n", name,
                "--without-gossip", "--without-mingle"]  # fmt: skip

    worker = WorkerProcess(command, env, settings.effective_broker_url, tmp_path / "w.log")
    worker.start()
    try:
        ping = subprocess.run(
            [*celery, "inspect", "ping", "-d", worker.name, "--timeout", "5"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert ping.returncode == 0, ping.stdout + ping.stderr
        assert "pong" in ping.stdout and worker.name in ping.stdout
    finally:
        worker.stop()


def _imports(path: Path, module: str) -> set[str]:
    """The project modules ``path`` imports anywhere in it (top level or in a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_no_import_circle():
    modules: dict[str, Path] = {}
    for path in [*ROOT.glob("worker/**/*.py"), *ROOT.glob("config/**/*.py")]:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path

    def ancestors(m: str) -> set[str]:
        # A module's own packages are imported before it whatever it imports: not a circle
        # (``from worker.entities import names`` inside worker/entities/ imports a sibling).
        parts = m.split(".")
        return {".".join(parts[:i]) for i in range(1, len(parts))}

    graph = {
        m: sorted(_imports(p, m) & set(modules) - {m} - ancestors(m)) for m, p in modules.items()
    }

    def circle_from(start: str) -> list[str] | None:
        stack, seen = [(start, [start])], set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, [*path, nxt]))
        return None

    circles = [c for m in sorted(graph) if (c := circle_from(m))]
    assert not circles, circles[0]
