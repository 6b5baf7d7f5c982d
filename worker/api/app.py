"""The API application: ``create_app(settings)``.

Every router is included behind the token (``auth.require_token``); ``/openapi.json``,
``/docs`` and ``/health`` are open. Errors are JSON: ``{"error": {"status", "message",
"detail"}}``. Queries run on a pool of connections whose ``statement_timeout`` is
``NEWSWORKER_API_QUERY_TIMEOUT`` (a query cut there answers 503). Pages (issue 17) add their
routers here too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import sql
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

from config import Settings
from worker import pgstore
from worker.api.auth import api_token, require_token
from worker.api.models import ErrorBody
from worker.api.routers import alerts, articles, dead_letters, entities, sources
from worker.delivery.ledger import Ledger

log = structlog.get_logger("worker.api")

ROUTERS = (articles.router, entities.router, sources.router, dead_letters.router, alerts.router)


def _error(status: int, message: str, detail: Any = None, headers: dict | None = None):
    body = {"error": {"status": status, "message": message, "detail": detail}}
    return JSONResponse(body, status_code=status, headers=headers)


def _pool(settings: Settings) -> ConnectionPool:
    def configure(conn: psycopg.Connection) -> None:
        conn.execute(
            sql.SQL("SET search_path TO {}").format(sql.Identifier(settings.postgres_schema))
        )
        conn.execute(
            "SELECT set_config('statement_timeout', %s, false)",
            (f"{int(settings.api_query_timeout * 1000)}",),
        )
        conn.execute("SET TIME ZONE 'UTC'")

    return ConnectionPool(
        settings.effective_postgres_dsn,
        min_size=1,
        max_size=8,
        kwargs={"autocommit": True, "connect_timeout": 10},
        configure=configure,
        timeout=settings.api_query_timeout + 5,
        open=False,
    )


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pgstore.connect(settings).close()  # migrate before the first request
        app.state.pool.open(wait=True)
        try:
            yield
        finally:
            app.state.pool.close()
            app.state.ledger.redis.close()

    app = FastAPI(
        title="newsworker",
        summary="Query the processed articles, their entities and sources; manage alerts.",
        version="1",
        lifespan=lifespan,
        responses={
            401: {"model": ErrorBody, "description": "Missing or wrong token."},
            422: {"model": ErrorBody, "description": "Invalid parameters."},
        },
    )
    app.state.settings = settings
    app.state.token = api_token(settings)
    app.state.pool = _pool(settings)
    app.state.ledger = Ledger(settings)

    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(require_token)])

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness (no token needed, no data)."""
        return {"status": "ok"}

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return _error(422, "invalid request", detail)

    @app.exception_handler(psycopg.errors.QueryCanceled)
    async def too_slow(request: Request, exc: Exception) -> JSONResponse:
        return _error(503, f"query exceeded {settings.api_query_timeout} s; narrow it down")

    @app.exception_handler(psycopg.DataError)
    async def bad_value(request: Request, exc: Exception) -> JSONResponse:
        return _error(400, f"invalid value: {str(exc).splitlines()[0]}")

    @app.exception_handler(Exception)
    async def failed(request: Request, exc: Exception) -> JSONResponse:
        log.exception("api_error", path=request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}")

    @app.exception_handler(psycopg.OperationalError)
    async def db_down(request: Request, exc: Exception) -> JSONResponse:
        log.warning("database_unavailable", error=str(exc))
        return _error(503, "the database is unavailable")

    return app
