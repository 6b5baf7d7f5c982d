"""Token auth: every data endpoint wants ``Authorization: Bearer <token>``.

The token is ``NEWSWORKER_API_TOKEN``, else one generated on first start and kept (readable by
the owner only) in ``NEWSWORKER_HOME/api-token`` — as Flower's password is.
"""

from __future__ import annotations

import os
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from config import Settings

bearer = HTTPBearer(auto_error=False, description="The API token (NEWSWORKER_HOME/api-token).")


def api_token(settings: Settings) -> str:
    if settings.api_token:
        return settings.api_token
    path = settings.home / "api-token"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24) + "\n")
    return path.read_text().strip()


def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    expected: str = request.app.state.token
    given = credentials.credentials if credentials else ""
    if not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            401, "missing or wrong API token", headers={"WWW-Authenticate": "Bearer"}
        )
