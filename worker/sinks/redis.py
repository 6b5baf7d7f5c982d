"""Redis sink: one record per article (``nw:article:{id}``) announced on a stream (``nw:articles``)
(keys: ``worker.delivery.ledger``).

A batch's record writes and stream appends happen in one Lua script call, each guarded by a
per-id marker holding the submission that was delivered, so a record is announced at most once
per submission.
The record and the marker expire ``NEWSWORKER_RECORD_TTL`` after the write (this sink is
written last: every other sink has the record by then); the stream is trimmed by
``worker.ops.retention``, never past an entry a consumer group still needs. The stream entry
carries the record too (a group reading late still gets it once the lookup copy expired).
"""

from __future__ import annotations

from collections.abc import Sequence

import redis

from config import Settings
from worker.delivery.ledger import Keys, connect
from worker.errors import SinkUnavailable
from worker.schema import Record

# A batch. KEYS: stream, then per record: marker, record. ARGV: ttl (0: none), then per
# record: submission, id, record json. Returns 1 per record announced now, 0 per one whose
# submission was announced already.
_DELIVER = """
local ttl, out = tonumber(ARGV[1]), {}
for i = 0, (#KEYS - 1) / 2 - 1 do
  local marker, record = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
  local sub, id, json = ARGV[2 + 3 * i], ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  if redis.call('GET', marker) == sub then
    out[#out + 1] = 0
  else
    redis.call('XADD', KEYS[1], '*', 'id', id, 'record', json)
    if ttl > 0 then
      redis.call('SET', record, json, 'EX', ttl)
      redis.call('SET', marker, sub, 'EX', ttl)
    else
      redis.call('SET', record, json)
      redis.call('SET', marker, sub)
    end
    out[#out + 1] = 1
  end
end
return out
"""


class RedisSink:
    name = "redis"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = connect(settings)
        self._deliver = self.redis.register_script(_DELIVER)

    def refusal(self, record: Record) -> str | None:
        return None

    def write(self, records: Sequence[Record]) -> list[bool]:
        """The batch in one script call."""
        if not records:
            return []
        keys = Keys(self.settings)
        names, args = [keys.stream], [self.settings.record_ttl]
        for record in records:
            names += [keys.delivered(record.id), keys.record(record.id)]
            args += [record.submission, record.id, record.model_dump_json()]
        try:
            return [bool(n) for n in self._deliver(keys=names, args=args)]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise SinkUnavailable(f"redis: {exc}") from exc

    def discard(self, records: Sequence[Record]) -> None:
        """Written last: there is never a write of a dead-lettered article to take back."""

    def close(self) -> None:
        self.redis.close()
