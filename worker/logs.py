"""structlog setup: JSON lines by default, a console renderer on a terminal.

Context (task id, article id) is bound with :func:`structlog.contextvars.bind_contextvars`, so
every line a task logs carries it (see ``worker.tasks``).
"""

from __future__ import annotations

import logging
import sys

import structlog

from config import Settings


def setup_logging(settings: Settings) -> None:
    level = logging.getLevelName(settings.log_level.upper())
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "console" if sys.stderr.isatty() else "json"
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
    # pymorphy2 announces every dictionary load at INFO: once per process, no news to users.
    logging.getLogger("pymorphy2").setLevel(max(level, logging.WARNING))
