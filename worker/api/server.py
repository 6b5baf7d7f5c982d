"""``newsworker api``: the API under uvicorn."""

from __future__ import annotations

import uvicorn

from config import Settings
from worker.api.app import create_app


def serve(settings: Settings) -> None:
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.api_address,
        port=settings.api_port,
        log_config=None,  # structlog's handlers, as everywhere else
        access_log=False,
        timeout_graceful_shutdown=10,
    )
