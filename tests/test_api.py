"""The HTTP API against the real PostgreSQL, after the 130 DAnIEL dev pages are processed:
every answer checked against the records themselves, a real server on loopback."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import time
from collections import Counter

import httpx
import hypothesis
import psycopg
import pytest
import schemathesis
from conftest import BIN, namespace, settings_overrides

from config import Settings
from worker import pgstore, pipeline
from worker.alerts.engine import tokens, word_forms
from worker.api import queries
from worker.clean.chrome import source_domain
from worker.sinks.postgres import PostgresSink
from worker.text import fold

UTC = dt.timezone.utc


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return {
        **namespace(),
        "NEWSWORKER_API_PORT": str(_free_port()),
        "NEWSWORKER_API_TOKEN": "t0ken-for-the-tests",
        "NEWSWORKER_HOME": str(tmp_path_factory.mktemp("apihome")),
    }


@pytest.fixture(scope="module")
def store_settings(env) -> Settings:
    return Settings(**settings_overrides({**os.environ, **env}))


@pytest.fixture(scope="module")
def records(store_settings, dev_pages):
    """The dev pages processed (every stage, in this process) and stored by the sink."""
    out = []
    for page in dev_pages:
        payload = json.dumps({"id": page["id"], "source": page["domain"], "html": page["html"]})
        out.append(pipeline.process(page["id"], "json", payload.encode(), store_settings))
    sink = PostgresSink(store_settings)
    for i in range(0, len(out), 16):
        assert all(sink.write(out[i : i + 16]))
    sink.close()
    with pgstore.connect(store_settings) as conn:
        conn.execute("ANALYZE")
    return out


@pytest.fixture(scope="module")
def api(env, records, tmp_path_factory):
    """`newsworker api` on loopback; yields its base URL."""
    log = tmp_path_factory.mktemp("apilog") / "api.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "newsworker"), "api"], env={**os.environ, **env}, stdout=out, stderr=out
        )
    base = f"http://127.0.0.1:{env['NEWSWORKER_API_PORT']}"
    try:
        for _ in range(200):
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture(scope="module")
def client(api, env):
    with httpx.Client(
        base_url=api, headers={"Authorization": f"Bearer {env['NEWSWORKER_API_TOKEN']}"}
    ) as c:
        yield c


def _dated(record) -> dt.datetime:
    if record.published_at:
        return dt.datetime.fromisoformat(record.published_at).replace(tzinfo=UTC)
    return dt.datetime.fromisoformat(record.processed_at)


def _all(client: httpx.Client, **params) -> list[dict]:
    """Every page of GET /articles."""
    items, cursor = [], None
    while True:
        r = client.get(
            "/articles", params={**params, "limit": 7, **({"cursor": cursor} if cursor else {})}
        )
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


def test_articles_by_entity(client, records):
    wanted = ("ORG", "Роспотребнадзор")
    expected = {r.id for r in records if any((e.type, e.normal) == wanted for e in r.entities)}
    assert len(expected) >= 5
    got = _all(client, entity="роспотребнадзор", type="ORG")  # case does not matter
    assert [a["id"] for a in got] and {a["id"] for a in got} == expected
    assert len(got) == len(expected)  # no article twice across pages
    # Newest first, by dated_at.
    dates = [dt.datetime.fromisoformat(a["dated_at"]) for a in got]
    assert dates == sorted(dates, reverse=True)
    # Without a type: any type with that normal form (case and ё/е folded).
    assert {a["id"] for a in _all(client, entity="Москва")} == {
        r.id for r in records if any(fold(e.normal) == "москва" for e in r.entities)
    }


def test_articles_by_full_text(client, records):
    # Every article with a form of «Москва» is found; nothing is found without a word of its stem.
    forms = word_forms("москва")
    lower = {r.id for r in records if forms & set(tokens(f"{r.title}\n{r.text}"))}
    upper = {
        r.id for r in records if any(t.startswith("москв") for t in tokens(f"{r.title}\n{r.text}"))
    }
    got = {a["id"] for a in _all(client, q="Москвой")}
    assert len(lower) >= 5
    assert lower <= got <= upper
    # websearch syntax: both words.
    both = {a["id"] for a in _all(client, q="Москва Россия")}
    assert both <= got and both


def test_articles_by_source_and_time(client, records):
    by_source = Counter(source_domain(r.source, r.url) for r in records)
    assert {a["id"] for a in _all(client, source="www.regnum.ru")} == {
        r.id for r in records if source_domain(r.source, r.url) == "regnum.ru"
    }
    since, until = dt.datetime(2011, 11, 1, tzinfo=UTC), dt.datetime(2011, 12, 1, tzinfo=UTC)
    expected = {r.id for r in records if since <= _dated(r) < until}
    assert len(expected) >= 10
    got = _all(client, since=since.isoformat(), until=until.isoformat())
    assert {a["id"] for a in got} == expected
    # Combined filters.
    combo = _all(client, source="ria.ru", since="2012-01-01T00:00:00Z", language="ru")
    assert {a["id"] for a in combo} == {
        r.id
        for r in records
        if source_domain(r.source, r.url) == "ria.ru"
        and _dated(r) >= dt.datetime(2012, 1, 1, tzinfo=UTC)
        and r.language == "ru"
    }
    # GET /sources: counts per source.
    body = client.get("/sources", params={"since": "2012-01-01", "until": "2012-02-01"}).json()
    assert {s["source"]: s["articles"] for s in body["items"]} == dict(by_source)
    regnum = next(s for s in body["items"] if s["source"] == "regnum.ru")
    jan = (dt.datetime(2012, 1, 1, tzinfo=UTC), dt.datetime(2012, 2, 1, tzinfo=UTC))
    in_jan = [
        r
        for r in records
        if source_domain(r.source, r.url) == "regnum.ru" and jan[0] <= _dated(r) < jan[1]
    ]
    assert sum(d["articles"] for d in regnum["daily"]) == len(in_jan)
    assert regnum["articles_per_day"] == pytest.approx(len(in_jan) / 31, abs=1e-3)
    assert regnum["dead_letters"] == 0 and regnum["dead_letter_share"] == 0


def test_article_detail(client, records):
    record = records[3]
    body = client.get(f"/articles/{record.id}").json()
    assert body["record"] == json.loads(record.model_dump_json())
    assert body["versions"] == 1
    assert [v["submission"] for v in body["history"]] == [record.submission]
    assert {(e["type"], e["normal"]) for e in body["entities"]} == {
        (e.type, e.normal) for e in record.entities
    }
    missing = client.get("/articles/no-such-article")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == 404


def test_top_entities_and_timeline(client, records):
    since, until = dt.datetime(2012, 1, 1, tzinfo=UTC), dt.datetime(2012, 2, 1, tzinfo=UTC)
    previous = since - (until - since)
    now, before = Counter(), Counter()
    for r in records:
        for e in {(e.type, e.normal) for e in r.entities if e.type == "LOC"}:  # as stored
            if since <= _dated(r) < until:
                now[e] += 1
            elif previous <= _dated(r) < since:
                before[e] += 1
    params = {"type": "LOC", "since": since.isoformat(), "until": until.isoformat(), "limit": 1000}
    body = client.get("/entities/top", params=params).json()
    assert {(i["type"], i["normal"]): i["articles"] for i in body["items"]} == dict(now)
    assert {(i["type"], i["normal"]): i["previous"] for i in body["items"]} == {
        k: before[k] for k in now
    }
    rising = client.get("/entities/top", params={**params, "order": "rising"}).json()["items"]
    changes = [i["change"] for i in rising]
    assert changes == sorted(changes, reverse=True)
    assert rising[0]["change"] == max(now[k] - before[k] for k in now)

    days = Counter(
        _dated(r).date()
        for r in records
        if any(e.type == "LOC" and fold(e.normal) == "россия" for e in r.entities)
    )
    body = client.get("/entities/LOC/Россия/timeline", params={"interval": "day"}).json()
    assert {
        dt.datetime.fromisoformat(b["bucket"]).date(): b["articles"] for b in body["buckets"]
    } == dict(days)
    hours = client.get("/entities/LOC/Россия/timeline", params={"interval": "hour"}).json()
    assert sum(b["articles"] for b in hours["buckets"]) == sum(days.values())


def test_entity_and_full_text_queries_use_their_indexes(store_settings, records):
    """EXPLAIN on a table of some size (the dev pages among 20,000 filler articles, ANALYZEd):
    entity and full-text filters run on their GIN indexes."""
    bigger = store_settings.model_copy(
        update={"postgres_schema": f"{store_settings.postgres_schema}_big"}
    )
    sink = PostgresSink(bigger)
    assert all(sink.write(records))
    sink.close()
    with pgstore.connect(bigger) as conn:
        # In statements of 1,000 (autocommit): nw_ingest takes a transaction-scoped advisory
        # lock per article, and 20,000 in one transaction overflow the server's lock table.
        for first in range(1, 20_001, 1000):
            conn.execute(
                """SELECT nw_ingest(jsonb_build_object(
                     'id', 'filler-' || n, 'submission', '1', 'processed_at', now(),
                     'published_at', (timestamptz '2012-01-01' + n * interval '1 minute')::text,
                     'source', 'filler' || (n %% 20) || '.ru', 'title', 'Сводка номер ' || n,
                     'text', 'Погода и спорт: обычный день номер ' || n || '.',
                     'summary', jsonb_build_object('text', ''),
                     'entities', jsonb_build_array(jsonb_build_object(
                        'type', 'ORG', 'normal', 'Компания ' || (n %% 500), 'count', 1,
                        'salience', 0.5))))
                     FROM generate_series(%s::int, %s::int) n""",
                (first, first + 999),
            )
        conn.execute("ANALYZE")
        plans = {}
        for index, flt in [
            ("articles_entities", queries.ArticleFilter(entity="Роспотребнадзор", type="ORG")),
            ("articles_tsv", queries.ArticleFilter(q="Роспотребнадзор")),
        ]:
            query, args = queries.articles_query(flt, 50)
            plan = conn.execute(psycopg.sql.SQL("EXPLAIN ") + query, args).fetchall()
            plans[index] = "\n".join(r[0] for r in plan)
            assert conn.execute(query, args).fetchall()  # and it finds the articles
        conn.execute(f"DROP SCHEMA {bigger.postgres_schema} CASCADE")
    for index, plan in plans.items():
        assert f"Bitmap Index Scan on {index}" in plan, plan


def test_no_data_without_the_token(api, records):
    paths = ["/articles", f"/articles/{records[0].id}", "/entities/top", "/sources",
             "/entities/LOC/Россия/timeline", "/dead-letters", "/alerts"]  # fmt: skip
    for path in paths:
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "t0ken-for-the-tests"},
        ):
            r = httpx.get(api + path, headers=headers)
            assert r.status_code == 401, (path, headers, r.text)
            assert r.json()["error"]["message"] == "missing or wrong API token"
    assert httpx.post(api + "/dead-letters/1-0/retry").status_code == 401
    assert httpx.post(api + "/alerts", json={"match": {"keyword": "нефть"}}).status_code == 401
    assert httpx.get(api + "/openapi.json").status_code == 200  # the spec is public


def test_errors_are_json_and_limits_hold(client):
    r = client.get("/articles", params={"limit": 5000})
    assert r.status_code == 422 and r.json()["error"]["message"] == "invalid request"
    assert client.get("/articles", params={"cursor": "garbage"}).status_code == 400
    r = client.get("/entities/top", params={"since": "2012-02-01", "until": "2012-01-01"})
    assert r.status_code == 400 and "since" in r.json()["error"]["message"]
    assert client.get("/articles", params={"q": "нефть\x00"}).status_code == 400
    assert len(client.get("/articles", params={"limit": 1000}).json()["items"]) <= 200


OPEN = {"/health"}


def test_generated_requests(api, env):
    """Requests generated from /openapi.json (schemathesis), a dozen per operation: none gets a
    5xx; without the token, none gets data."""
    schema = schemathesis.openapi.from_url(f"{api}/openapi.json")
    token = {"Authorization": f"Bearer {env['NEWSWORKER_API_TOKEN']}"}
    checked = []

    for result in schema.get_all_operations():
        operation = result.ok()

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=12,
            deadline=None,
            database=None,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        def run(case):
            response = case.call(base_url=api, headers=token)
            assert response.status_code < 500, (case.as_curl_command(), response.text)
            checked.append(response.status_code)
            if case.operation.path in OPEN:
                return
            for headers in ({"Authorization": "Bearer not-the-token"}, {"Authorization": ""}):
                response = case.call(base_url=api, headers=headers)
                assert response.status_code in (401, 404), (case.as_curl_command(), response.text)
                assert set(response.json()) == {"error"}

        run()
    assert len(checked) >= 50 and any(200 <= s < 300 for s in checked)


def test_dead_letters_listed_counted_per_source_and_retried(client, store_settings):
    from worker.delivery.ledger import Ledger
    from worker.delivery.protocol import Ref

    ledger = Ledger(store_settings)
    payload = json.dumps({"id": "broken-1", "source": "www.regnum.ru", "text": "x"}).encode()
    ref = Ref("broken-1", "json", "1")
    ledger.admit([(ref, payload)])
    assert ledger.dead_letter(ref, stage="clean", reason="test: unreadable")
    body = client.get("/dead-letters", params={"stage": "clean"}).json()
    [entry] = [e for e in body["items"] if e["id"] == "broken-1"]
    assert entry["reason"] == "test: unreadable" and entry["source"] == "regnum.ru"
    assert json.loads(entry["payload"]) == json.loads(payload)
    sources = client.get("/sources").json()["items"]
    regnum = next(s for s in sources if s["source"] == "regnum.ru")
    assert regnum["dead_letters"] == 1
    assert regnum["dead_letter_share"] == round(1 / (1 + regnum["articles"]), 4)
    retried = client.post(f"/dead-letters/{entry['entry']}/retry")
    assert retried.status_code == 200 and retried.json() == {
        "entry": entry["entry"],
        "id": "broken-1",
        "queued": True,
    }
    assert all(e["id"] != "broken-1" for e in client.get("/dead-letters").json()["items"])
    assert ledger.payloads([ref]) == [payload]  # submitted again, its original payload
    assert client.post(f"/dead-letters/{entry['entry']}/retry").status_code == 404


def test_alert_rules_through_the_api(client):
    created = client.post(
        "/alerts",
        json={"id": "api-rule", "match": {"all": [{"entity": "Газпром", "type": "ORG"},
                                                   {"keyword": "санкция"}]},
              "webhook": "http://127.0.0.1:9/hook"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret and len(secret) >= 16
    assert (
        client.post("/alerts", json={"id": "api-rule", "match": {"keyword": "x"}}).status_code
        == 409
    )
    listed = {r["id"]: r for r in client.get("/alerts").json()}
    assert "secret" not in listed["api-rule"] and listed["api-rule"]["origin"] == "api"
    assert client.get("/alerts/api-rule").json()["match"]["all"][1] == {"keyword": "санкция"}
    bad = client.post("/alerts", json={"match": {"entity": "Газпром", "type": "XYZ"}})
    assert bad.status_code == 422 and bad.json()["error"]["message"] == "invalid request"
    assert client.delete("/alerts/api-rule").status_code == 204
    assert client.get("/alerts/api-rule").status_code == 404


def test_stream_ids_beyond_redis_range_are_client_errors(client):
    big = "99999999999999999999-0"  # matches the pattern, over 64 bits
    assert client.get("/dead-letters", params={"cursor": big}).status_code == 400
    assert client.post(f"/dead-letters/{big}/retry").status_code == 404
