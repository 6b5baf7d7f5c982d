"""structlog setup: JSON lines by default, a console renderer on a terminal.

Context (task id, article id) is bound with :func:`structlog.contextvars.bind_contextvars`, so
every line a task logs carries it (see ``worker.tasks``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
from typing import Any, TextIO

import structlog

from config import Settings


def json_logs(settings: Settings) -> bool:
    """Whether logs are JSON lines: NEWSWORKER_LOG_FORMAT=json, or auto off a terminal."""
    if settings.log_format == "auto":
        return not sys.stderr.isatty()
    return settings.log_format == "json"


def setup_logging(settings: Settings) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    fmt = "json" if json_logs(settings) else "console"
    # The console renderer prints tracebacks itself; JSON needs them made into a string, for
    # celery's and kombu's records (exc_info) as much as for ours.
    rendering: list[structlog.types.Processor] = (
        [structlog.dev.ConsoleRenderer()]
        if fmt == "console"
        else [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # a disabled level costs no processing
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Route the standard library's records (celery, kombu) through the same renderer.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *rendering],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Warnings (Celery's, kombu's) as log records, rendered like the rest; so are exceptions
    # nobody caught and those Python can only report ("Exception ignored in …").
    logging.captureWarnings(True)
    if fmt == "json":
        sys.excepthook = _log_uncaught
        sys.unraisablehook = _log_unraisable
        _celery_says_json()
    # pymorphy2 announces every dictionary load at INFO: once per process, no news to users.
    logging.getLogger("pymorphy2").setLevel(max(level, logging.WARNING))


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
    logging.getLogger("python").critical("uncaught_exception", exc_info=(kind, exc, tb))


def _log_unraisable(u: Any) -> None:
    exc_info = (u.exc_type, u.exc_value, u.exc_traceback) if u.exc_type else None
    logging.getLogger("python").warning(
        "%s: %r", u.err_msg or "Exception ignored in", u.object, exc_info=exc_info
    )


def _celery_says_json() -> None:
    """The Celery worker's shutdown notices (``celery.apps.worker.safe_say``, called in signal
    handlers, so written with one ``os.write`` and no logging lock) as JSON lines."""
    module = sys.modules.get("celery.apps.worker")
    if module is None or getattr(module.safe_say, "newsworker", False):
        return

    def safe_say(msg: str, f: TextIO = sys.__stderr__) -> None:
        line = {
            "event": msg.strip(),
            "level": "warning",
            "logger": "celery.apps.worker",
            "timestamp": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
        }
        os.write(f.fileno(), (json.dumps(line, ensure_ascii=False) + "\n").encode())

    safe_say.newsworker = True  # type: ignore[attr-defined]
    module.safe_say = safe_say
