"""Celery's own command line (``celery -A worker.celery_app …``) with newsworker's logging set
up first, so that in JSON mode every line the process writes is JSON: Flower's and tornado's
records, kombu's, warnings. ``newsworker up``, ``worker`` and ``flower`` run Celery this way."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile


def main() -> None:
    if "worker" in sys.argv[1:] and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        _metrics_dir()
    from celery.bin.celery import main as celery

    from config import get_settings
    from worker.logs import setup_logging

    setup_logging(get_settings())
    sys.exit(celery())


def _metrics_dir() -> None:
    """A fresh directory where the worker's pool processes keep their metrics
    (worker.ops.metrics), set before anything imports prometheus_client; removed at exit."""
    path = tempfile.mkdtemp(prefix="newsworker-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    owner = os.getpid()
    atexit.register(lambda: os.getpid() == owner and shutil.rmtree(path, ignore_errors=True))


if __name__ == "__main__":
    main()
