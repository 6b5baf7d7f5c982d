"""A URL that gave no article — a page that could not be fetched (stage ``fetch``), a source
that could not be polled (stage ``watch``) — ends as a dead letter whose payload is
``{"url": …}`` and whose reason names the URL too."""

from __future__ import annotations

import json

import structlog

from worker.delivery.ledger import Ledger
from worker.delivery.protocol import ORDINARY, Ref
from worker.ingest import id_for_url

log = structlog.get_logger("worker.fetch")


def dead_letter(ledger: Ledger, url: str, reason: str, stage: str = "fetch") -> bool:
    """Write it (once per URL: False if that URL's article had already landed)."""
    ref = Ref(id_for_url(url), "json", ORDINARY)
    payload = json.dumps({"url": url}, ensure_ascii=False).encode()
    ttl = ledger.settings.payload_ttl
    ledger.redis.set(ledger.keys.payload(ref.id, ref.submission), payload, ex=ttl)
    written = ledger.dead_letter(ref, stage=stage, reason=f"{reason} ({url})")
    log.warning("dead_lettered", stage=stage, url=url, reason=reason, written=written)
    return written
