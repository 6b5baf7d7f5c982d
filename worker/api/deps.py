"""What endpoints are given: a database connection from the pool, the settings, Redis."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg.rows import dict_row

from config import Settings


def db(request: Request) -> Iterator[psycopg.Connection]:
    with request.app.state.pool.connection() as conn:
        conn.row_factory = dict_row  # type: ignore[assignment]
        yield conn


def settings(request: Request) -> Settings:
    return request.app.state.settings


DB = Annotated[psycopg.Connection, Depends(db)]
Config = Annotated[Settings, Depends(settings)]
