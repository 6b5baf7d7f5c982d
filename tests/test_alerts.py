"""Standing queries: rules matched on the records the real stages produce, noted once per
(rule, article) in real Redis, signed webhook bodies."""

from __future__ import annotations

import json
import uuid

import pytest

from config import Settings
from worker import pipeline
from worker.alerts.dispatch import Alerts
from worker.alerts.engine import Engine, Facts
from worker.alerts.rules import RuleIn, RuleStore, complete, read_file
from worker.alerts.webhook import sign, verify
from worker.delivery.ledger import Keys, connect

# The clean stage wants 80 characters at least: a neutral second sentence.
NOTE = (
    " Об этом сообщается в пресс-релизе, опубликованном в понедельник утром на официальном сайте."
)

TEXTS = {
    "genitive": "Глава Газпрома Алексей Миллер заявил о новых поставках газа в Европу." + NOTE,
    "legal": "Акции ПАО «Газпром» выросли на Московской бирже после отчёта компании." + NOTE,
    "bank": "Газпромбанк выдал кредит застройщику в Санкт-Петербурге." + NOTE,
    "sanctions": "Евросоюз пригрозил России новыми санкциями из-за Украины." + NOTE,
    "weather": "В Москве ожидается снег, сообщили синоптики." + NOTE,
}


@pytest.fixture(scope="module")
def records(settings):
    out = {}
    for name, text in TEXTS.items():
        payload = json.dumps({"id": f"a-{name}", "text": text, "source": f"{name}.example.ru"})
        out[name] = pipeline.process(f"a-{name}", "json", payload.encode(), settings)
    return out


def rule(**data) -> object:
    return complete(RuleIn.model_validate(data), "api")


def matching(engine: Engine, records: dict) -> dict[str, list[str]]:
    return {
        name: sorted(m.rule.id for m in engine.match(Facts.of(r))) for name, r in records.items()
    }


def test_an_entity_rule_matches_every_form_of_the_name_and_not_a_longer_one(records):
    engine = Engine([rule(id="gazprom", match={"entity": "Газпром", "type": "ORG"})])
    got = matching(engine, records)
    assert got["genitive"] == ["gazprom"]  # «Газпрома»
    assert got["legal"] == ["gazprom"]  # «ПАО «Газпром»»
    assert got["bank"] == []  # «Газпромбанк» is another company
    assert got["sanctions"] == got["weather"] == []


def test_keywords_match_any_form(records):
    engine = Engine(
        [
            rule(id="sanction", match={"keyword": "санкция"}),  # the text says «санкциями»
            rule(id="inflected", match={"keyword": "Поставками газа"}),  # phrase, any form
            rule(id="snow", match={"keyword": "снега"}),
        ]
    )
    got = matching(engine, records)
    assert got["sanctions"] == ["sanction"]
    assert got["genitive"] == ["inflected"]
    assert got["weather"] == ["snow"]
    assert got["bank"] == got["legal"] == []


def test_conditions_combine_with_and_or(records):
    engine = Engine(
        [
            rule(id="and", match={"all": [{"entity": "Газпром", "type": "ORG"},
                                          {"keyword": "биржа"}]}),
            rule(id="or", match={"any": [{"source": "bank.example.ru"},
                                         {"entity": "Москва", "type": "LOC"}]}),
            rule(id="lang", match={"all": [{"language": "ru"}, {"keyword": "газ"}]}),
            rule(id="salient", match={"entity": "Газпром", "type": "ORG", "min_salience": 1.0}),
            rule(id="wrong-type", match={"entity": "Газпром", "type": "LOC"}),
        ]
    )  # fmt: skip
    got = matching(engine, records)
    assert got["legal"] == ["and"]
    assert got["bank"] == ["or"]
    assert got["weather"] == ["or"]
    assert got["genitive"] == ["lang"]  # «газа»; no rule asks Газпром at salience 1.0 here
    assert not any("salient" in ids for ids in got.values())


@pytest.fixture()
def alerts_settings(settings, tmp_path) -> Settings:
    prefix = f"{settings.key_prefix}-{uuid.uuid4().hex[:6]}"  # cleaned up with the run's keys
    return settings.model_copy(update={"key_prefix": prefix, "home": tmp_path})


def test_a_match_is_noted_and_announced_once_per_rule_and_article(alerts_settings, records):
    client = connect(alerts_settings)
    store = RuleStore(alerts_settings, client)
    alerts = Alerts(alerts_settings, client, recheck=0)
    assert alerts.check(list(records.values())) == []  # no rules yet
    store.put(rule(id="gazprom", match={"entity": "Газпром", "type": "ORG"},
                   webhook="http://127.0.0.1:9/hook"))  # fmt: skip
    store.put(rule(id="quiet", match={"keyword": "санкция"}))  # stream only, no webhook
    calls = alerts.check(list(records.values()))
    assert sorted(c.key for c in calls) == ["gazprom:a-genitive", "gazprom:a-legal"]
    body = json.loads(calls[0].body)
    assert body["delivery"] == calls[0].key and body["matched"]["entities"] == ["ORG:газпром"]
    stream = Keys(alerts_settings).alerts
    entries = client.xrange(stream)
    assert sorted((f[b"rule"], f[b"article"]) for _, f in entries) == [
        (b"gazprom", b"a-genitive"), (b"gazprom", b"a-legal"), (b"quiet", b"a-sanctions")
    ]  # fmt: skip
    # The same records again (a redelivered task, a --force): nothing new on the stream; the
    # webhook calls not acknowledged yet are handed out again, the acknowledged one is not.
    alerts.sent(calls[0])
    again = alerts.check(list(records.values()))
    assert [c.key for c in again] == [c.key for c in calls[1:]]
    assert client.xlen(stream) == 3
    alerts.dead(calls[1], "HTTP 500")
    assert alerts.check(list(records.values())) == []
    [(_, dead)] = client.xrange(Keys(alerts_settings).alerts_dead)
    assert dead[b"reason"] == b"HTTP 500" and dead[b"rule"] == b"gazprom"


def test_rules_from_a_file_and_reloads(alerts_settings, records, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n"
        "  - id: snow\n"
        "    match: {keyword: снег}\n"
        "    webhook: http://127.0.0.1:9/hook\n"
        "    secret: a-secret-of-sixteen-chars\n",
        encoding="utf-8",
    )
    [from_file] = read_file(path)
    assert from_file.origin == "file" and from_file.secret == "a-secret-of-sixteen-chars"
    settings = alerts_settings.model_copy(update={"alerts_file": path})
    client = connect(settings)
    alerts = Alerts(settings, client, recheck=0)
    assert [c.key for c in alerts.check([records["weather"]])] == ["snow:a-weather"]
    RuleStore(settings, client).put(rule(id="bank", match={"keyword": "кредит"}))
    assert [r.id for r in alerts.engine().rules] == ["snow", "bank"]
    # A broken file keeps the rules in force (the articles go on).
    path.write_text("rules: [{id: snow, match: {keyword: 12", encoding="utf-8")
    assert [r.id for r in alerts.engine().rules] == ["snow", "bank"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"id": "x", "match": {"keyword": "газ"}, "webhook": "http://h/"}]))
    with pytest.raises(ValueError, match="no secret"):
        read_file(bad)


def test_signatures_verify():
    body = b'{"delivery": "r:a"}'
    signature = sign("s3cret-s3cret-s3cret", body)
    assert signature.startswith("sha256=") and len(signature) == 7 + 64
    assert verify("s3cret-s3cret-s3cret", body, signature)
    assert not verify("another-secret-here", body, signature)
    assert not verify("s3cret-s3cret-s3cret", body + b" ", signature)
    assert not verify("s3cret-s3cret-s3cret", body, None)


def test_the_index_finds_what_checking_every_rule_finds(settings, dev_pages):
    """The bench's generated rules (entities, keywords, sources, languages, AND/OR) on real
    records: the indexed match equals evaluating every rule on every article."""
    from worker.alerts import engine as eng
    from worker.alerts.bench import generate_rules, run

    records = []
    for page in dev_pages[:25]:
        payload = json.dumps({"html": page["html"], "source": page["domain"]}).encode()
        records.append(pipeline.process(page["id"], "json", payload, settings))
    rules = generate_rules(records, 400)
    engine = Engine(rules)
    total = 0
    for record in records:
        facts = Facts.of(record)
        found = engine.keywords_in(facts.tokens)
        every = [r.id for r, tree in zip(rules, engine._trees)
                 if eng._holds(tree, facts, found, ([], []))]  # fmt: skip
        assert [m.rule.id for m in engine.match(facts)] == sorted(every, key=lambda i: int(i[1:]))
        total += len(every)
    assert total > len(records)  # the rules do match
    result = run(records, 100, rounds=1)
    assert result["alert_rules"] == 100 and result["articles"] == len(records)
