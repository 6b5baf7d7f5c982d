"""Standing queries: POST/GET/DELETE /alerts."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, HttpUrl

from worker.alerts.rules import Condition, Rule, RuleIn, RuleStore, complete, read_file

router = APIRouter(prefix="/alerts", tags=["alerts"])

RuleId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,100}$")]


class RuleOut(BaseModel):
    id: str
    name: str | None
    match: Condition
    webhook: HttpUrl | None
    origin: Literal["file", "api"]


class RuleCreated(RuleOut):
    secret: str | None  # shown once, when the rule is created


def _store(request: Request) -> RuleStore:
    return RuleStore(request.app.state.settings, request.app.state.ledger.redis)


def _file_rules(request: Request) -> list[Rule]:
    path = request.app.state.settings.alerts_file
    return read_file(FilePath(path)) if path else []


def _out(rule: Rule) -> RuleOut:
    return RuleOut.model_validate(rule.model_dump())


@router.post("", status_code=201, response_model=RuleCreated)
def create(request: Request, rule: RuleIn) -> RuleCreated:
    """Add a rule; every article processed from now on is checked against it. The webhook's
    secret (given, or generated) is in this response only."""
    full = complete(rule, "api")
    if any(r.id == full.id for r in _file_rules(request)) or not _store(request).put(full):
        raise HTTPException(409, f"a rule {full.id!r} exists")
    return RuleCreated.model_validate(full.model_dump())


@router.get("", response_model=list[RuleOut])
def list_rules(request: Request) -> list[RuleOut]:
    """The rules in force: from NEWSWORKER_ALERTS_FILE and from POST /alerts."""
    from_file = _file_rules(request)
    ids = {r.id for r in from_file}
    return [_out(r) for r in from_file + [r for r in _store(request).all() if r.id not in ids]]


@router.get("/{rule_id}", response_model=RuleOut)
def get_rule(request: Request, rule_id: RuleId) -> RuleOut:
    rule = next((r for r in _file_rules(request) if r.id == rule_id), None)
    rule = rule or _store(request).get(rule_id)
    if rule is None:
        raise HTTPException(404, f"no rule {rule_id!r}")
    return _out(rule)


@router.delete("/{rule_id}", status_code=204)
def delete_rule(request: Request, rule_id: RuleId) -> None:
    if any(r.id == rule_id for r in _file_rules(request)):
        raise HTTPException(409, f"rule {rule_id!r} comes from the rules file; edit the file")
    if not _store(request).delete(rule_id):
        raise HTTPException(404, f"no rule {rule_id!r}")
