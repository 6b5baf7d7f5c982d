"""Celery's own command line (``celery -A worker.celery_app …``) with newsworker's logging set
up first, so that in JSON mode every line the process writes is JSON: Flower's and tornado's
records, kombu's, warnings. ``newsworker up``, ``worker`` and ``flower`` run Celery this way."""

from __future__ import annotations

import sys


def main() -> None:
    from celery.bin.celery import main as celery

    from config import get_settings
    from worker.logs import setup_logging

    setup_logging(get_settings())
    sys.exit(celery())


if __name__ == "__main__":
    main()
