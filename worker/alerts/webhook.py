"""Webhook calls: a JSON body signed with the rule's secret, as GitHub signs its webhooks.

Headers of each call:

- ``X-Newsworker-Signature-256: sha256=<hex HMAC-SHA256 of the body, keyed by the secret>``
- ``Idempotency-Key: <rule id>:<article id>`` — the same on every retry of one match: a
  receiver that keeps the keys it has acted on sees each match exactly once.
- ``X-Newsworker-Attempt: <n>`` (1 for the first call).

A receiver verifies with :func:`verify` (or the same three lines in any language).
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

SIGNATURE_HEADER = "X-Newsworker-Signature-256"
IDEMPOTENCY_HEADER = "Idempotency-Key"


class WebhookFailed(Exception):
    """The receiver did not answer 2xx (or could not be reached)."""


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    return signature is not None and hmac.compare_digest(sign(secret, body), signature)


def post(url: str, secret: str, body: bytes, key: str, attempt: int, timeout: float) -> int:
    """POST the body; return the status, or raise :class:`WebhookFailed`."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "newsworker-alerts",
        SIGNATURE_HEADER: sign(secret, body),
        IDEMPOTENCY_HEADER: key,
        "X-Newsworker-Attempt": str(attempt),
    }
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise WebhookFailed(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"HTTP {response.status_code}: {response.text[:200]}")
    return response.status_code
