"""The worker's consumer (Celery's ``worker_consumer``): after a broker connection loss it
tries again every second (Celery's default waits 2, 4, 6 … up to 30 s between attempts), and
once connected gives back the messages it held and dropped (``liveness.give_back``)."""

from __future__ import annotations

import functools
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer
from celery.worker.state import active_requests

from worker.delivery import liveness, runtime


class Consumer(CeleryConsumer):
    def ensure_connected(self, conn: Any) -> Any:
        conn.ensure_connection = functools.partial(
            conn.ensure_connection, interval_start=0, interval_step=1, interval_max=1
        )
        conn = super().ensure_connected(conn)
        rt = runtime.current()
        running = {request.id for request in active_requests}
        if given := liveness.give_back(self.app, rt.ledger, rt.worker_id, keep=running):
            liveness.log.warning("messages_given_back_after_reconnect", count=given)
        return conn
