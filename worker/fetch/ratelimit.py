"""Politeness shared by every fetch worker: per host, at most N requests in flight and a
minimum spacing between request starts (1 / rate), both kept in Redis and timed by Redis's
clock, so threads, processes and machines share one budget per host."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import redis

# KEYS[1]: the host's holders (sorted set, scored by lease end); KEYS[2]: the host's next free
# start time. ARGV: limit, holder, lease, spacing (seconds). Returns -1 if no slot is free, else
# the slot is the holder's and the wait before its start (the next start time is reserved).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return '-1' end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])) + 1)
local at = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
local spacing = tonumber(ARGV[4])
redis.call('SET', KEYS[2], string.format('%.6f', at + spacing),
           'PX', math.ceil((at - now + spacing) * 1000) + 1000)
return string.format('%.6f', at - now)
"""


class HostLimiter:
    """``with limiter.slot(host):`` waits for a free slot and the host's next start time."""

    def __init__(
        self, client: redis.Redis, prefix: str, *, concurrency: int, rate: float, lease: float
    ) -> None:
        self.redis, self.prefix = client, prefix
        self.concurrency, self.spacing, self.lease = concurrency, 1.0 / rate, lease
        self._take = client.register_script(_TAKE)

    @contextmanager
    def slot(self, host: str, *, timeout: float = 600) -> Iterator[None]:
        holders = f"{self.prefix}:busy:{host}"
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + timeout
        delay = 0.01
        keys = [holders, f"{self.prefix}:next:{host}"]
        args = [self.concurrency, holder, self.lease, self.spacing]
        while (wait := float(self._take(keys=keys, args=args))) < 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no free request slot for {host} in {timeout} s")
            time.sleep(delay)
            delay = min(0.2, delay * 2)
        try:
            if wait > 0:
                time.sleep(wait)
            yield
        finally:
            self.redis.zrem(holders, holder)
