"""Alert rules: what a standing query says, and where rules are kept.

A rule's ``match`` is a tree of conditions::

    {"all": [{"entity": "Газпром", "type": "ORG", "min_salience": 0.3},
             {"any": [{"keyword": "санкция"}, {"keyword": "пошлина"}]},
             {"language": "ru"}]}

- ``entity`` + ``type``: the article has that entity (normal form, as the entities stage gives
  it; case and ё/е do not matter) with at least ``min_salience``;
- ``keyword``: a word or phrase in any inflected form («санкция» finds «санкциями»);
- ``source``: the article's source (as the store names it: ``source``, else the URL's host,
  lower case, without ``www.``);
- ``language``: the detected language code.

Rules come from ``NEWSWORKER_ALERTS_FILE`` (JSON or YAML: a list of rules, or ``{"rules": [...]}``)
and from ``POST /alerts``, which keeps them in Redis (``nw:alerts:rules``; a version counter
tells workers to reload; see the key map in ``worker.delivery.ledger``).
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Literal, Union

import redis
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, TypeAdapter, field_validator

from config import Settings
from worker.clean.chrome import source_domain

_WORD = r".*\w.*"


class _Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EntityCondition(_Condition):
    entity: str = Field(min_length=1, max_length=300, pattern=_WORD, description="Normal form.")
    type: Literal["PER", "LOC", "ORG"]
    min_salience: float = Field(0.0, ge=0, le=1)


class KeywordCondition(_Condition):
    keyword: str = Field(
        min_length=1, max_length=200, pattern=_WORD, description="A word or phrase, any form."
    )


class SourceCondition(_Condition):
    source: str = Field(min_length=1, max_length=200)

    @field_validator("source")
    @classmethod
    def _named(cls, value: str) -> str:
        if not source_domain(value):
            raise ValueError("a source needs a name")
        return value


class LanguageCondition(_Condition):
    language: str = Field(min_length=2, max_length=20)


class AllOf(_Condition):
    all: list[Condition] = Field(min_length=1, max_length=100)


class AnyOf(_Condition):
    any: list[Condition] = Field(min_length=1, max_length=100)


Condition = Annotated[
    Union[EntityCondition, KeywordCondition, SourceCondition, LanguageCondition, AllOf, AnyOf],  # noqa: UP007
    Field(union_mode="left_to_right"),
]
AllOf.model_rebuild()
AnyOf.model_rebuild()


class RuleIn(BaseModel):
    """A rule as submitted."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_.-]{1,100}$", description="Default: generated."
    )
    name: str | None = Field(None, max_length=300)
    match: Condition
    webhook: HttpUrl | None = Field(None, description="POSTed a signed JSON body per match.")
    secret: str | None = Field(
        None,
        min_length=16,
        max_length=200,
        description="HMAC-SHA256 key of the webhook's signature; default: generated.",
    )


class Rule(RuleIn):
    id: str  # type: ignore[assignment]
    secret: str | None = None
    origin: Literal["file", "api"] = "api"


_RULES = TypeAdapter(list[RuleIn])


def complete(rule: RuleIn, origin: Literal["file", "api"]) -> Rule:
    data = rule.model_dump()
    data["id"] = rule.id or secrets.token_hex(8)
    if rule.webhook and not rule.secret:
        data["secret"] = secrets.token_urlsafe(24)
    return Rule.model_validate({**data, "origin": origin})


def read_file(path: Path) -> list[Rule]:
    """The rules of a JSON or YAML file; a clear ValueError when it is not valid."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(data, dict):
        data = data.get("rules", [])
    try:
        rules = _RULES.validate_python(data)
    except ValueError as exc:
        raise ValueError(f"{path}: invalid alert rules: {exc}") from None
    out = []
    for rule in rules:
        if rule.webhook and not rule.secret:
            raise ValueError(f"{path}: rule {rule.id!r} has a webhook but no secret")
        out.append(complete(rule, "file"))
    missing = [r for r, given in zip(out, rules) if not given.id]
    if missing:
        raise ValueError(f"{path}: every rule in a file needs an id")
    return out


class RuleStore:
    """The rules created through the API, in a Redis hash (id -> rule JSON)."""

    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        from worker.delivery.ledger import Keys

        keys = Keys(settings)
        self.redis = client
        self.key = keys.alert_rules
        self.version_key = keys.alert_rules_version

    def all(self) -> list[Rule]:
        rules = sorted(self.redis.hgetall(self.key).items())
        return [Rule.model_validate_json(v) for _, v in rules]

    def get(self, rule_id: str) -> Rule | None:
        raw = self.redis.hget(self.key, rule_id)
        return Rule.model_validate_json(raw) if raw else None

    def put(self, rule: Rule) -> bool:
        """Store the rule; False if one with its id exists (nothing changed)."""
        with self.redis.pipeline() as pipe:
            pipe.hsetnx(self.key, rule.id, rule.model_dump_json()).incr(self.version_key)
            created, _ = pipe.execute()
        return bool(created)

    def delete(self, rule_id: str) -> bool:
        with self.redis.pipeline() as pipe:
            pipe.hdel(self.key, rule_id).incr(self.version_key)
            deleted, _ = pipe.execute()
        return bool(deleted)

    def version(self) -> int:
        return int(self.redis.get(self.version_key) or 0)
