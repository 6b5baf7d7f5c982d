"""A fix for kombu's Redis transport, applied by the worker bootstrap (``worker_init``, see
``worker.delivery.signals``), never at import.

kombu 5.7's Redis channel, asked for a new client once its connection has let go of its
transport (after a broker connection loss: restoring unacknowledged messages on close,
acknowledging a task that finished meanwhile), fails with an AttributeError that no caller
expects, and the worker dies ("Unrecoverable error"). Raised as the connection error it is,
every caller handles it: the consumer reconnects, the message stays unacknowledged in Redis
and comes back. ``tests/test_kombu_fix.py`` shows the bug on the installed kombu, so it fails
when kombu fixes it upstream; then delete this module.
"""

from __future__ import annotations

import kombu
import redis
from kombu.transport.redis import Channel

AFFECTED = ((5, 7), (5, 8))
"""kombu versions [from, to) known to have the bug (pyproject pins kombu to them)."""

_original = Channel._connparams


def _connparams_or_closed(self: Channel, asynchronous: bool = False) -> dict:
    if self.connection.client is None:
        raise redis.ConnectionError("the broker connection is closed")
    return _original(self, asynchronous)


def affected(version: str = kombu.__version__) -> bool:
    major_minor = tuple(int(part) for part in version.split(".")[:2])
    low, high = AFFECTED
    return low <= major_minor < high


def apply() -> bool:
    """Patch kombu's Redis channel if the installed kombu has the bug; True if patched."""
    if not affected():
        return False
    Channel._connparams = _connparams_or_closed  # type: ignore[method-assign]
    return True


def applied() -> bool:
    return Channel._connparams is _connparams_or_closed
