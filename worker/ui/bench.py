"""``newsworker bench-page``: the article page's server time for a long article (a benchmark,
not a test).

Builds one article of at least ``chars`` characters from the DAnIEL dev pages (their clean
texts, one after another), runs it through the real stages in this process, stores the record
in PostgreSQL (a schema of its own, dropped afterwards) and times ``GET /ui/articles/{id}`` on
the API's app in this process (query, highlighting, template; no network), plus
:func:`worker.ui.article.render` alone.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config import Settings


def _long_text(path: Path, chars: int, settings: Settings) -> str:
    from worker import clean
    from worker.errors import BadArticle
    from worker.schema import RawArticle

    texts = []
    total = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            page = json.loads(line)
            try:
                cleaned, _ = clean.clean_page(RawArticle(html=page["html"], url=page.get("url")))
            except BadArticle:  # a page that does not clean is left out
                continue
            texts.append(cleaned.text)
            total += len(cleaned.text) + 2
            if total >= chars * 1.1:  # cleaning the joined text again may drop a little
                break
    return "\n\n".join(texts)


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered) * 1000, 2),
        "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


def run(
    path: Path, chars: int, repeat: int, say: Callable[[str], None], settings: Settings
) -> dict[str, Any]:
    import psycopg
    from fastapi.testclient import TestClient

    from worker.api.app import create_app
    from worker.pipeline import process
    from worker.sinks.postgres import PostgresSink
    from worker.ui.article import render
    from worker.ui.routes import entity_href

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    text = _long_text(path, chars, settings)
    say(f"article of {len(text)} characters; processing it…")
    payload = json.dumps({"id": "bench-page", "source": "bench.example", "text": text}).encode()
    record = process("bench-page", "json", payload, settings)
    data = record.model_dump(mode="json")
    mentions = sum(len(e["mentions"]) for e in data["entities"])
    mentions += len(data["dates"]) + len(data["money"])

    schema = f"nwbench_{uuid.uuid4().hex[:8]}"
    bench = settings.model_copy(update={"postgres_schema": schema, "api_token": "bench"})
    try:
        sink = PostgresSink(bench)
        sink.write([record])
        sink.close()
        render_times = []
        for _ in range(repeat):
            t = time.perf_counter()
            render(data, entity_href)
            render_times.append(time.perf_counter() - t)
        request_times = []
        with TestClient(create_app(bench)) as client:
            headers = {"Authorization": "Bearer bench"}
            first = client.get("/ui/articles/bench-page", headers=headers)
            first.raise_for_status()
            marks = first.text.count("data-m=")
            for _ in range(repeat):
                t = time.perf_counter()
                response = client.get("/ui/articles/bench-page", headers=headers)
                request_times.append(time.perf_counter() - t)
                response.raise_for_status()
    finally:
        with psycopg.connect(settings.effective_postgres_dsn, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    return {
        "chars": len(record.text),
        "mentions": mentions,
        "marks_in_page": marks,
        "cut_lines": len(data["chrome"]),
        "page_bytes": len(first.content),
        "requests": repeat,
        "request_ms": _ms(request_times),
        "render_ms": _ms(render_times),
        "budget_ms": 300,
    }
