"""From processed records to alerts: match, note once per (rule, article), announce.

Redis keys (see the key map in ``worker.delivery.ledger``): ``nw:alerts:ledger:{rule}:{id}``
is ``pending`` until the rule's webhook acknowledged the match, then ``sent`` (``dead`` after
the last retry; ``none`` for a rule without webhook); the stream ``nw:alerts`` has one entry
per (rule, article), whatever the re-deliveries and ``--force`` runs; ``nw:alerts:dead`` has
the webhook calls that failed their last retry.

The ledger entry and the stream entry are written together (one script), before the article
is marked processed: a deliver task that dies in between is run again and finds the match
``pending``, so its webhook call is sent again, never lost; one already ``sent`` is not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import redis
import structlog

from config import Settings
from worker.alerts import webhook
from worker.alerts.engine import Engine, Facts, Match
from worker.alerts.rules import Rule, RuleStore, read_file
from worker.delivery.ledger import Keys
from worker.schema import Record

log = structlog.get_logger("worker.alerts")

# KEYS: ledger, stream. ARGV: initial state, rule, article, match json, maxlen.
# 1: a new match (noted, announced); 2: noted earlier, its webhook not acknowledged yet; 0: done.
_NOTE = """
local state = redis.call('GET', KEYS[1])
if state == 'pending' then return 2 end
if state then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
local fields = {'rule', ARGV[2], 'article', ARGV[3], 'match', ARGV[4]}
if tonumber(ARGV[5]) > 0 then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
else
  redis.call('XADD', KEYS[2], '*', unpack(fields))
end
return 1
"""


@dataclass(frozen=True)
class Call:
    """A webhook call to make: the rule's URL, the match's key and body."""

    rule_id: str
    article_id: str
    url: str
    body: str

    @property
    def key(self) -> str:
        return f"{self.rule_id}:{self.article_id}"


def body(match: Match, record: Record) -> str:
    return json.dumps(
        {
            "delivery": f"{match.rule.id}:{record.id}",
            "rule": {"id": match.rule.id, "name": match.rule.name},
            "article": {
                "id": record.id,
                "submission": record.submission,
                "url": record.url,
                "source": record.source,
                "title": record.title,
                "published_at": record.published_at,
                "processed_at": record.processed_at,
                "language": record.language,
                "summary": record.summary.text,
            },
            "matched": {"entities": match.entities, "keywords": match.keywords},
        },
        ensure_ascii=False,
    )


class Alerts:
    """The rules in force in this process (reloaded when they change) and what a match does."""

    def __init__(self, settings: Settings, client: redis.Redis, recheck: float = 1.0) -> None:
        self.settings = settings
        self.redis = client
        self.keys = Keys(settings)
        self.store = RuleStore(settings, client)
        self.stream = self.keys.alerts
        self.dead_stream = self.keys.alerts_dead
        self._note = client.register_script(_NOTE)
        self._recheck = recheck
        self._checked = 0.0
        self._seen: tuple[int, float] | None = None
        self._engine = Engine([])

    def ledger_key(self, rule_id: str, article_id: str) -> str:
        return self.keys.alert_ledger(rule_id, article_id)

    # -- rules ----------------------------------------------------------------------------
    def _file_mtime(self) -> float:
        path = self.settings.alerts_file
        return Path(path).stat().st_mtime if path else 0.0

    def engine(self) -> Engine:
        """The compiled rules, rebuilt when the API's rules or the rules file changed."""
        now = time.monotonic()
        if now - self._checked >= self._recheck:
            self._checked = now
            seen = (self.store.version(), self._file_mtime())
            if seen != self._seen:
                rules = self.rules()
                self._engine = Engine(rules)
                self._seen = seen
                log.info("alert_rules_loaded", rules=len(rules))
        return self._engine

    def rules(self) -> list[Rule]:
        from_file = read_file(Path(self.settings.alerts_file)) if self.settings.alerts_file else []
        api = self.store.all()
        ids = {r.id for r in from_file}
        return from_file + [r for r in api if r.id not in ids]

    def rule(self, rule_id: str) -> Rule | None:
        return next((r for r in self.engine().rules if r.id == rule_id), None) or self.store.get(
            rule_id
        )

    # -- matching -------------------------------------------------------------------------
    def check(self, records: Sequence[Record]) -> list[Call]:
        """Match the records against every rule; note and announce each new (rule, article);
        return the webhook calls to make (new, or not acknowledged yet)."""
        engine = self.engine()
        if not len(engine):
            return []
        found = [(m, r) for r in records for m in engine.match(Facts.of(r))]
        if not found:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            for match, record in found:
                state = "pending" if match.rule.webhook else "none"
                keys = [self.ledger_key(match.rule.id, record.id), self.stream]
                args = [state, match.rule.id, record.id, body(match, record)]
                self._note(keys=keys, args=[*args, self.settings.stream_maxlen], client=pipe)
            noted = pipe.execute()
        calls = []
        for (match, record), n in zip(found, noted, strict=True):
            if n:
                log.info("alert_matched", rule=match.rule.id, article_id=record.id, new=n == 1)
            if n and match.rule.webhook:
                url = str(match.rule.webhook)
                calls.append(Call(match.rule.id, record.id, url, body(match, record)))
        return calls

    # -- the webhook call -----------------------------------------------------------------
    def send(self, call: Call, attempt: int) -> str:
        """Make the call unless the match is no longer pending (``sent``/``dead``: 'skipped')
        or another process is making it now; 'sent' once the receiver answered 2xx. Raises
        :class:`worker.alerts.webhook.WebhookFailed` for the caller to retry."""
        if self.state(call) != "pending":
            return "skipped"
        lock = self.keys.alert_sending(call.rule_id, call.article_id)
        if not self.redis.set(
            lock, str(attempt), nx=True, ex=int(self.settings.alert_timeout) + 30
        ):
            return "skipped"  # a duplicate task: the one holding the lock makes the call
        try:
            rule = self.rule(call.rule_id)
            if rule is None or rule.webhook is None or not rule.secret:
                self.dead(call, "the rule no longer exists, or has no webhook")
                return "dead"
            webhook.post(
                str(rule.webhook), rule.secret, call.body.encode(), call.key, attempt,
                self.settings.alert_timeout,
            )  # fmt: skip
            self.sent(call)
            return "sent"
        finally:
            self.redis.delete(lock)

    def state(self, call: Call) -> str | None:
        raw = self.redis.get(self.ledger_key(call.rule_id, call.article_id))
        return raw.decode() if raw else None

    def sent(self, call: Call) -> None:
        self.redis.set(self.ledger_key(call.rule_id, call.article_id), "sent")

    def dead(self, call: Call, reason: str) -> None:
        with self.redis.pipeline() as pipe:
            pipe.set(self.ledger_key(call.rule_id, call.article_id), "dead")
            pipe.xadd(
                self.dead_stream,
                {"rule": call.rule_id, "article": call.article_id, "reason": reason[:2000],
                 "match": call.body, "url": call.url},
            )  # fmt: skip
            pipe.execute()
