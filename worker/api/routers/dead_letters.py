"""GET /dead-letters and POST /dead-letters/{entry}/retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request

from worker.api import deadletters
from worker.api.models import DeadLetter, DeadLetters, Retried

router = APIRouter(prefix="/dead-letters", tags=["dead letters"])

EntryId = Annotated[str, Path(pattern=r"^\d{1,20}-\d{1,20}$", description="e.g. 1764547200000-0")]


@router.get("", response_model=DeadLetters)
def list_dead_letters(
    request: Request,
    stage: Annotated[str | None, Query(max_length=50)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,20}-\d{1,20}$")] = None,
) -> DeadLetters:
    """Dead letters, newest first, with the reason and the original payload (cut)."""
    ledger = request.app.state.ledger
    limit = min(limit, request.app.state.settings.api_max_page_size)
    try:
        entries, next_cursor = deadletters.page(ledger, limit, cursor)
    except deadletters.BadEntryId:
        raise HTTPException(400, "invalid cursor") from None
    items = [
        DeadLetter(
            entry=e.entry_id,
            id=e.id,
            stage=e.stage,
            reason=e.reason,
            failed_at=e.failed_at,
            kind=e.kind,
            source=deadletters.source_of(e),
            payload_bytes=e.payload_bytes,
            payload=e.payload[:8000].decode("utf-8", "replace")[:2000],
        )
        for e in entries
        if stage is None or e.stage == stage
    ]
    return DeadLetters(items=items, next_cursor=next_cursor)


@router.post("/{entry}/retry", response_model=Retried)
def retry(request: Request, entry: EntryId) -> Retried:
    """Submit the dead letter again (its original payload) and remove it from the list."""
    ledger = request.app.state.ledger
    try:
        found = deadletters.get(ledger, entry)
    except deadletters.BadEntryId:
        raise HTTPException(404, f"no dead letter {entry!r}") from None
    if found is None:
        raise HTTPException(404, f"no dead letter {entry!r}")
    queued = deadletters.retry(request.app.state.settings, ledger, found)
    return Retried(entry=entry, id=found.id, queued=queued)
