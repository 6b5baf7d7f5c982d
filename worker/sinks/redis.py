"""Redis sink: one record per article (``nw:article:{id}``) announced on a stream (``nw:articles``)
(keys: ``worker.delivery.ledger``).

The record write and the stream append happen in one Lua script, guarded by a per-id marker
holding the submission that was delivered, so a record is announced at most once per submission.
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

# KEYS: marker, record, stream. ARGV: submission, id, record json, ttl (0: none).
_DELIVER = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
redis.call('XADD', KEYS[3], '*', 'id', ARGV[2], 'record', ARGV[3])
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
else
  redis.call('SET', KEYS[2], ARGV[3])
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1
"""


class RedisSink:
    name = "redis"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.redis = connect(settings)
        self._deliver = self.redis.register_script(_DELIVER)

    def write(self, records: Sequence[Record]) -> list[bool]:
        s, keys = self.settings, Keys(self.settings)
        try:
            with self.redis.pipeline(transaction=False) as pipe:
                for record in records:
                    names = [keys.delivered(record.id), keys.record(record.id), keys.stream]
                    args = [record.submission, record.id, record.model_dump_json(), s.record_ttl]
                    self._deliver(keys=names, args=args, client=pipe)
                return [bool(n) for n in pipe.execute()]
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise SinkUnavailable(f"redis: {exc}") from exc

    def close(self) -> None:
        self.redis.close()
