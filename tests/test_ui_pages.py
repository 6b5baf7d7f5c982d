"""The analysts' pages in a real browser (Debian's chromium driven by Playwright) against a real
stack: a Celery worker delivering to Redis and PostgreSQL, the API's app under uvicorn
(`newsworker api`), loaded with the 130 DAnIEL dev pages.

One stack and one browser serve every test here. Screenshots of each page go to
``NEWSWORKER_UI_SCREENSHOTS`` (default ``build/screenshots``); axe-core (node_modules, as
package-lock.json pins it) checks each page.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BIN, DEV_CLEAN, ROOT, SAMPLE, Worker, namespace, newsworker
from tests.conftest import settings_overrides as overrides

CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("NEWSWORKER_UI_SCREENSHOTS", ROOT / "build" / "screenshots"))
TOKEN = "ui-test-token-" + os.urandom(6).hex()
HELD_BACK = 3  # dev pages kept out of the first submission: dead letters to retry, live feed
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@dataclass
class Stack:
    url: str
    env: dict[str, str]
    settings: object
    records: dict[str, dict]
    retry_id: str
    story: list[str]
    """Ids of the articles given a story (oldest first); the last is a reprint of the first."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def _record(page: dict) -> dict:
    d = page["date"]
    return {
        "id": page["id"],
        "url": page["url"],
        "source": page["domain"],
        "published_at": f"{d[:4]}-{d[4:6]}-{d[6:]}",
        "html": page["html"],
    }


def _records(settings) -> dict[str, dict]:
    from worker.delivery.ledger import Keys, connect, id_key

    client = connect(settings)
    one = Keys(settings).record("x")  # the record keys: a prefix, then a key of the id
    prefix = one.removesuffix(id_key("x"))
    out = {}
    for key in client.scan_iter(prefix + "*", count=1000):
        rec = json.loads(client.get(key))
        out[rec["id"]] = rec
    return out


STORY = "story-test-1"


def _story(settings) -> list[str]:
    """Stories and reprints are issue 15's: until records carry them, give three articles of
    different sources a ``story_id`` in the store, and the last a ``duplicate_of`` the first
    in its record, as the pipeline will."""
    from psycopg.types.json import Jsonb

    from worker import pgstore

    with pgstore.connect(settings) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (source) id, dated_at FROM articles ORDER BY source, dated_at"
            " LIMIT 3"
        ).fetchall()
        ids = [i for i, _ in sorted(rows, key=lambda r: (r[1], r[0]))]
        conn.execute("UPDATE articles SET story_id = %s WHERE id = ANY(%s)", (STORY, ids))
        conn.execute(
            "UPDATE article_versions v SET record = v.record || %s FROM articles a"
            " WHERE a.version_id = v.version_id AND a.id = %s",
            (Jsonb({"duplicate_of": ids[0], "story_id": STORY}), ids[-1]),
        )
    return ids


@pytest.fixture(scope="session")
def ui_stack(tmp_path_factory) -> Stack:
    from config import Settings
    from worker.delivery.ledger import Ledger
    from worker.delivery.protocol import ORDINARY, Ref

    tmp = tmp_path_factory.mktemp("ui")
    port = _free_port()
    env = namespace(sinks="redis,postgres", api_token=TOKEN, api_address="127.0.0.1", api_port=port)
    settings = Settings(**overrides({**os.environ, **env}))
    pages = [json.loads(line) for line in DEV_CLEAN.open(encoding="utf-8")]
    first, held = pages[:-HELD_BACK], pages[-HELD_BACK:]
    batch = tmp / "daniel.jsonl"
    batch.write_text("\n".join(json.dumps(_record(p), ensure_ascii=False) for p in first))
    bad = tmp / "bad"
    bad.mkdir()
    (bad / "broken.json").write_text('{"id": "broken-1", "text": ')  # not JSON
    (bad / "blank.json").write_text(json.dumps({"id": "blank-1", "text": "\u200b\u200b"}))

    worker = Worker(tmp / "worker.log", concurrency=2, env=env).start()
    api = None
    try:
        for path in (batch, bad):
            done = newsworker("submit", str(path), "--wait", "--timeout", "900", env=env)
            assert done.returncode == 0, done.stderr
        # A dead letter whose payload is good (as after a worker lost at the entities
        # stage): retried from the page, it must land processed.
        retry = _record(held[0])
        ledger = Ledger(settings)
        ref = Ref(retry["id"], "json", ORDINARY)
        ledger.admit([(ref, json.dumps(retry, ensure_ascii=False).encode())])
        assert ledger.dead_letter(ref, stage="entities", reason="worker lost (test)")
        story = _story(settings)
        api = subprocess.Popen(
            [str(BIN / "newsworker"), "api"],
            env={**os.environ, **env},
            stdout=(tmp / "api.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        _wait_http(url + "/health")
        yield Stack(url, env, settings, _records(settings), retry["id"], story)
    finally:
        if api is not None:
            api.terminate()
            api.wait(20)
        worker.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "the browser tests need Debian's chromium (.ci/run installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def context(browser, ui_stack):
    """A browser logged in through the login form."""
    ctx = browser.new_context(
        base_url=ui_stack.url, viewport={"width": 1280, "height": 900}, locale="ru-RU"
    )
    page = ctx.new_page()
    page.goto("/ui/sources")
    assert "/ui/login" in page.url
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url("**/ui/sources")
    page.close()
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda exc: errors.append(str(exc)))
    p.on("console", lambda m: m.type == "error" and errors.append(m.text))
    yield p
    p.close()
    assert not errors, errors


def _all_mentions(record: dict) -> list[str]:
    text = record["text"]
    spans = [m for e in record["entities"] for m in e["mentions"]]
    spans += record["dates"] + record["money"]
    return sorted(text[s["start"] : s["stop"]] for s in spans)


def _richest(stack: Stack) -> dict:
    return max(stack.records.values(), key=lambda r: len(_all_mentions(r)))


def _key(kind: str, normal: str) -> str:
    return f"{kind}:{normal.lower().replace('ё', 'е')}"


def _top_entity(stack: Stack) -> tuple[str, str, list[dict]]:
    """The entity most articles mention, and those articles' records."""
    counts: Counter[str] = Counter()
    names: dict[str, tuple[str, str]] = {}
    for rec in stack.records.values():
        for e in rec["entities"]:
            k = _key(e["type"], e["normal"])
            names.setdefault(k, (e["type"], e["normal"]))
        counts.update({_key(e["type"], e["normal"]) for e in rec["entities"]})
    key = counts.most_common(1)[0][0]
    kind, normal = names[key]
    recs = [
        r
        for r in stack.records.values()
        if key in {_key(e["type"], e["normal"]) for e in r["entities"]}
    ]
    return kind, normal, recs


def _entity_path(kind: str, normal: str) -> str:
    from urllib.parse import quote

    return f"/ui/entities/{kind}/{quote(normal, safe='')}"


def _pages(stack: Stack) -> dict[str, str]:
    kind, normal, _ = _top_entity(stack)
    return {
        "live": "/ui/",
        "article": f"/ui/articles/{_richest(stack)['id']}",
        "pulse": "/ui/entities?window=week",
        "entity": _entity_path(kind, normal),
        "stories": "/ui/stories",
        "sources": "/ui/sources",
        "dead": "/ui/dead",
    }


PAGES = ["live", "article", "pulse", "entity", "stories", "sources", "dead"]

_FOCUSABLE = """() => {
  const sel = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]),'
            + ' select:not([disabled]), textarea:not([disabled]), summary,'
            + ' [tabindex]:not([tabindex="-1"])';
  const els = [...document.querySelectorAll(sel)].filter(e => e.getClientRects().length > 0
      && getComputedStyle(e).visibility !== 'hidden');
  els.forEach((e, i) => e.setAttribute('data-kb', i));
  return els.length;
}"""


def _axe(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("name", PAGES)
def test_each_page_renders_passes_axe_and_every_control_takes_the_keyboard(
    ui_stack, page, name
) -> None:
    response = page.goto(_pages(ui_stack)[name])
    assert response is not None and response.status == 200, name
    assert page.locator("h1").first.inner_text().strip()
    page.wait_for_load_state("networkidle")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    assert _axe(page) == []

    count = page.evaluate(_FOCUSABLE)
    assert count > 5  # the navigation alone has six links
    reached: set[str] = set()
    page.locator("body").focus()
    for _ in range(count + 5):
        page.keyboard.press("Tab")
        kb = page.evaluate("() => document.activeElement.getAttribute('data-kb')")
        if kb is not None:
            reached.add(kb)
    assert reached == {str(i) for i in range(count)}


def test_login_page_passes_axe_and_pages_want_the_token(browser, ui_stack) -> None:
    ctx = browser.new_context(base_url=ui_stack.url)
    page = ctx.new_page()
    page.goto("/ui/dead")
    assert "/ui/login" in page.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login.png"), full_page=True)
    assert _axe(page) == []
    page.fill("#token", "wrong")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Неверный токен."
    assert "/ui/login" in page.request.get("/ui/sources").url  # redirected, no data
    assert page.request.get("/articles").status == 401  # the API's own answer
    ctx.close()


def test_article_page_highlights_every_mention_of_every_record(ui_stack, page) -> None:
    assert len(ui_stack.records) == 130 - HELD_BACK
    for record in ui_stack.records.values():
        page.goto(f"/ui/articles/{record['id']}")
        marks = page.evaluate(
            """() => { const m = {};
              document.querySelectorAll('.article-text [data-m]').forEach(e => {
                m[e.dataset.m] = (m[e.dataset.m] || '') + e.textContent; });
              return m; }"""
        )
        assert sorted(marks.values()) == _all_mentions(record), record["id"]
        summary = page.locator(".article-text .summary[id]").count()
        assert summary == len(record["summary"]["sentences"]), record["id"]


def test_article_page_shows_the_record_and_what_cleaning_cut(ui_stack, page) -> None:
    record = _richest(ui_stack)
    page.goto(f"/ui/articles/{record['id']}")
    assert page.locator("h1").inner_text() == record["title"]
    source = record["source"].lower().removeprefix("www.")  # as the store keeps sources
    assert f"Источник: {source}" in page.locator(".meta").first.inner_text()
    rows = page.locator("aside table tbody tr")
    assert rows.count() == len(record["entities"])
    cut = page.locator(".cut p")
    assert cut.count() == len(record["chrome"]) > 0
    assert not cut.first.is_visible()
    page.keyboard.press("Tab")
    page.focus("#show-cut")
    page.keyboard.press("Space")
    assert cut.first.is_visible()
    assert cut.first.inner_text() == record["chrome"][0]["text"]
    # the normal form on focus
    first = page.locator(".article-text a.ent").first
    first.focus()
    tip = page.evaluate("() => getComputedStyle(document.activeElement, '::after').content")
    assert first.get_attribute("data-tip") in tip


def test_a_click_on_an_entity_opens_its_page(ui_stack, page) -> None:
    record = _richest(ui_stack)
    page.goto(f"/ui/articles/{record['id']}")
    link = page.locator(".article-text a.ent-per, .article-text a.ent-org").first
    normal = link.get_attribute("data-tip").split(": ", 1)[1]
    link.click()
    page.wait_for_url("**/ui/entities/**")
    assert page.locator("h1").inner_text() == normal
    assert page.locator(".feed li").count() >= 1


def _dated(record: dict) -> dt.datetime:
    value = record.get("published_at") or ""
    if re.match(r"^\d{4}-\d{2}-\d{2}", value):
        when = dt.datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.fromisoformat(record["processed_at"])


def test_entity_chart_has_a_point_per_day(ui_stack, page) -> None:
    kind, normal, records = _top_entity(ui_stack)
    days = [_dated(r).astimezone(dt.timezone.utc).date() for r in records]
    expected = (max(days) - min(days)).days + 1
    assert expected > 1
    page.goto(_entity_path(kind, normal) + "?interval=day")
    page.wait_for_selector(".chart .ct-point", state="attached")
    assert page.locator(".chart .ct-point").count() == expected
    assert page.locator("#timeline-table tbody tr").count() == expected
    cells = page.locator("#timeline-table tbody tr td:nth-child(2)")  # in closed <details>
    values = [int(v) for v in cells.all_text_contents()]
    assert sum(values) == len(records)
    assert page.locator("h1").inner_text() == normal


def test_a_dead_letter_retried_from_the_page_lands(ui_stack, page) -> None:
    from worker.delivery.ledger import Ledger

    page.goto("/ui/dead")
    reasons = page.locator("section h2").all_inner_texts()
    assert any("payload is not valid JSON" in r for r in reasons)
    assert any("empty after cleaning" in r for r in reasons)
    entry = page.locator("li.dead-entry", has_text=ui_stack.retry_id)
    assert entry.count() == 1
    entry.get_by_role("button", name=f"Повторить {ui_stack.retry_id}").click()
    page.wait_for_url("**/ui/dead?message=*")
    assert page.locator(".flash").inner_text() == "Отправлено заново: 1 из 1."
    assert page.locator("li.dead-entry", has_text=ui_stack.retry_id).count() == 0
    ledger = Ledger(ui_stack.settings)
    deadline = time.monotonic() + 120
    while not (ledger.states([ui_stack.retry_id])[0] or "").startswith("processed:"):
        assert time.monotonic() < deadline, "the retried article did not land"
        time.sleep(0.3)
    response = page.goto(f"/ui/articles/{ui_stack.retry_id}")
    assert response is not None and response.status == 200


def test_retry_all_sends_every_dead_letter_again_and_each_lands(ui_stack, page) -> None:
    from worker.delivery.ledger import Ledger

    ledger = Ledger(ui_stack.settings)
    before = {e.entry_id: e for e in ledger.dead_entries()}
    assert len(before) == 2 and "blank-1" in {e.id for e in before.values()}  # the bad ones
    page.goto("/ui/dead")
    page.get_by_role("button", name=f"Повторить все ({len(before)})").click()
    page.wait_for_url("**/ui/dead?message=*")
    assert (
        page.locator(".flash").inner_text() == f"Отправлено заново: {len(before)} из {len(before)}."
    )
    # permanently bad payloads: each lands again as a new dead letter, with the same reason
    deadline = time.monotonic() + 120
    while True:
        after = [e for e in ledger.dead_entries() if e.entry_id not in before]
        if len(after) == len(before):
            break
        assert time.monotonic() < deadline, "the retried dead letters did not land"
        time.sleep(0.3)
    assert sorted((e.id, e.reason) for e in after) == sorted(
        (e.id, e.reason) for e in before.values()
    )
    assert not set(before) & {e.entry_id for e in ledger.dead_entries()}


def test_stories_list_their_first_source_and_reprints_in_order(ui_stack, page) -> None:
    first, *_, last = ui_stack.story
    page.goto("/ui/stories")
    row = page.locator("tbody tr", has_text=ui_stack.records[first]["title"])
    assert row.locator("td").nth(1).inner_text() == "3"
    assert ui_stack.records[first]["source"].lower().removeprefix("www.") in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"**/ui/stories/{STORY}")
    links = page.locator("tbody tr a").all_inner_texts()
    assert links == [ui_stack.records[i]["title"] for i in ui_stack.story]
    page.goto(f"/ui/articles/{last}")
    assert page.locator(f"a[href='/ui/articles/{first}']").count() == 1  # duplicate_of
    assert page.locator(f"a[href='/ui/stories/{STORY}']").count() == 1


def test_front_page_lists_articles_as_they_land(ui_stack, page) -> None:
    page.goto("/ui/")
    before = page.locator("#feed li").count()
    assert before > 0
    done = newsworker("submit", str(SAMPLE), "--wait", env=ui_stack.env)
    assert done.returncode == 0, done.stderr
    page.wait_for_selector("#feed li.new", timeout=30_000)
    assert "Президенты поговорили о Корее" in page.locator("#feed li").first.inner_text()
    assert page.locator("#feed li").count() == before + 1
