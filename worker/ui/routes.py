"""The analysts' pages (``/ui/…``): server-rendered Jinja2 templates on the API's app.

Each handler reads what it shows with the API's queries (``worker.api.queries``) or the pages'
own (``worker.ui.queries``) and renders one template. The pages want the API's token, given
once on ``/ui/login`` and kept in a cookie (HttpOnly, SameSite=Strict); a form that changes
something (retrying dead letters) also carries a token derived from it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import psycopg
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from worker import producer
from worker.api import deadletters, deps
from worker.api import queries as api_queries
from worker.ui import queries
from worker.ui.article import ENTITY_TYPES, TYPES, render

HERE = Path(__file__).parent
COOKIE = "nw_ui"
POLL_MS = 5000
LATE = dt.timedelta(seconds=30)
"""How late a landed article's row may commit after its ``processed_at``: the live feed asks
for this much before the newest it shows (the page skips what it already has)."""

_WINDOWS = (("hour", "Час", dt.timedelta(hours=1)), ("day", "День", dt.timedelta(days=1)),
            ("week", "Неделя", dt.timedelta(days=7)))  # fmt: skip
_INTERVALS = (("hour", "часам"), ("day", "дням"), ("week", "неделям"), ("month", "месяцам"))
_MAX_POINTS = 400
_SOURCE_DAYS = 30


# --- templates ---------------------------------------------------------------------------
def ru_time(value: dt.datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    if (value.hour, value.minute, value.second) == (0, 0, 0):
        return value.strftime("%d.%m.%Y")
    return value.strftime("%d.%m.%Y %H:%M") + (" UTC" if value.tzinfo else "")


def ru_date(value: dt.datetime | None) -> str:
    return value.strftime("%d.%m.%Y") if value else "—"


def percent(value: float) -> str:
    return f"{100 * value:.1f}\u00a0%"


def anchor(value: str | None) -> str:
    return re.sub(r"[^\w-]", "-", value or "unknown")


def entity_href(kind: str, normal: str) -> str:
    return f"/ui/entities/{kind}/{quote(normal, safe='')}"


def article_href(article_id: str) -> str:
    return f"/ui/articles/{quote(article_id, safe='/')}"


def story_href(story_id: str) -> str:
    return f"/ui/stories/{quote(str(story_id), safe='')}"


templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters.update(ru_time=ru_time, ru_date=ru_date, percent=percent, anchor=anchor)
templates.env.globals.update(
    types=TYPES, entity_href=entity_href, article_href=article_href, story_href=story_href
)


def page(request: Request, name: str, section: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"section": section, **context})


# --- auth ----------------------------------------------------------------------------------
class LoginRequired(Exception):
    pass


class PageError(Exception):
    """A page that cannot be shown: answered as an HTML page with this status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _given_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE, "")


def _valid(request: Request, token: str) -> bool:
    expected: str = request.app.state.token
    return bool(token) and secrets.compare_digest(token.encode(), expected.encode())


def require_login(request: Request) -> None:
    """The API's token, from the cookie ``/ui/login`` set (or the API's header)."""
    if not _valid(request, _given_token(request)):
        raise LoginRequired


def csrf_token(request: Request) -> str:
    key = request.app.state.token.encode()
    return hmac.new(key, b"newsworker-ui-form", hashlib.sha256).hexdigest()[:32]


def check_csrf(request: Request, given: str) -> None:
    if not secrets.compare_digest(given.encode(), csrf_token(request).encode()):
        raise PageError(403, "Форма устарела или пришла с чужого сайта: обновите страницу.")


public = APIRouter(prefix="/ui", include_in_schema=False)
router = APIRouter(prefix="/ui", include_in_schema=False, dependencies=[Depends(require_login)])


def _safe_next(target: str) -> str:
    return target if target.startswith("/ui") and not target.startswith("//") else "/ui/"


@public.get("/login", name="ui-login")
def login_form(request: Request, next: str = "/ui/") -> HTMLResponse:
    return page(request, "login.html", "", next=_safe_next(next), error=None)


@public.post("/login")
def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/ui/"
) -> Response:
    if not _valid(request, token.strip()):
        response = page(request, "login.html", "", next=_safe_next(next), error="Неверный токен.")
        response.status_code = 401
        return response
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE, token.strip(), httponly=True, samesite="strict", path="/", max_age=30 * 86400
    )
    return response


@public.get("/logout", name="ui-logout")
def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# --- pages ---------------------------------------------------------------------------------
DB = Annotated[psycopg.Connection, Depends(deps.db)]


@router.get("/", name="ui-live")
def live(request: Request, conn: DB) -> HTMLResponse:
    """The front page: the articles as they land, newest first (the page polls for more)."""
    rows = queries.landed(conn, None)
    after = rows[0]["processed_at"].isoformat() if rows else ""
    return page(request, "live.html", "ui-live", articles=rows, after=after, every=POLL_MS)


@router.get("/live", name="ui-live-feed")
def live_feed(request: Request, conn: DB, after: str = "") -> JSONResponse:
    """Articles landed after ``after`` (ISO time), as list items for the front page."""
    since = None
    if after:
        try:
            since = dt.datetime.fromisoformat(after)
            if since.tzinfo is None:
                since = since.replace(tzinfo=dt.timezone.utc)
        except ValueError:
            raise PageError(400, "`after` is not an ISO time") from None
    rows = queries.landed(conn, since - LATE if since else None)
    html = templates.get_template("_feed.html").render(articles=rows)
    times = [r["processed_at"] for r in rows] + ([since] if since else [])
    last = max(times).isoformat() if times else ""
    items = [{"id": r["id"], "title": r["title"]} for r in rows]
    return JSONResponse({"items": items, "after": last, "html": html})


@router.get("/articles/{article_id:path}", name="ui-article")
def article(request: Request, conn: DB, article_id: str) -> HTMLResponse:
    row = api_queries.get_article(conn, article_id)
    if row is None:
        raise PageError(404, f"Статьи {article_id!r} нет.")
    record: dict[str, Any] = row["record"]
    story = record.get("story_id") or row.get("story_id")
    if isinstance(record.get("story"), dict):
        story = story or record["story"].get("id")
    return page(
        request,
        "article.html",
        "ui-live",
        record=record,
        view=render(record, entity_href),
        source=row.get("source"),
        published=row.get("published_at") or record.get("published_at"),
        processed=row.get("processed_at"),
        versions=row.get("versions"),
        duplicate_of=record.get("duplicate_of"),
        story=story,
    )


@router.get("/entities", name="ui-pulse")
def pulse(
    request: Request, conn: DB, window: Annotated[str, Query(pattern="^(hour|day|week)$")] = "day"
) -> HTMLResponse:
    """Top and rising entities of each type over the last hour, day or week of articles."""
    length = next(d for key, _, d in _WINDOWS if key == window)
    end = queries.newest_dated(conn)
    tables: dict[str, dict[str, list[dict]]] = {}
    start = None
    if end is not None:
        end = end + dt.timedelta(microseconds=1)  # the newest article is in the period
        start = end - length
        for kind in ENTITY_TYPES:
            top = api_queries.top_entities(conn, kind, start, end, 10, "articles")
            rising = api_queries.top_entities(conn, kind, start, end, 10, "rising")
            tables[kind] = {"articles": top, "rising": [r for r in rising if r["change"] > 0]}
    return page(
        request,
        "pulse.html",
        "ui-pulse",
        windows=[(k, label) for k, label, _ in _WINDOWS],
        window=window,
        start=start,
        end=end,
        kinds=ENTITY_TYPES,
        tables=tables,
    )


def _auto_interval(first: dt.datetime | None, last: dt.datetime | None) -> str:
    if first is None or last is None:
        return "day"
    span = last - first
    if span <= dt.timedelta(days=2):
        return "hour"
    if span <= dt.timedelta(days=120):
        return "day"
    return "week" if span <= dt.timedelta(days=3 * 365) else "month"


def _step(when: dt.datetime, interval: str) -> dt.datetime:
    if interval == "month":
        year, month = divmod(when.month, 12)
        return when.replace(year=when.year + year, month=month + 1)
    return when + {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}.get(
        interval, dt.timedelta(weeks=1)
    )


def fill_buckets(rows: list[dict], interval: str) -> list[dict]:
    """Every bucket from the first to the last of ``rows``, the empty ones with zeros."""
    if not rows:
        return []
    found = {r["bucket"]: r for r in rows}
    out, when = [], rows[0]["bucket"]
    while when <= rows[-1]["bucket"]:
        r = found.get(when, {"articles": 0, "mentions": 0})
        out.append({"bucket": when, "articles": r["articles"], "mentions": r["mentions"] or 0})
        when = _step(when, interval)
    return out


def _bucket_label(when: dt.datetime, interval: str) -> str:
    return when.strftime(
        {"hour": "%d.%m %H:00", "day": "%d.%m.%Y", "week": "%d.%m.%Y", "month": "%m.%Y"}[interval]
    )


@router.get("/entities/{kind}/{normal:path}", name="ui-entity")
def entity(
    request: Request,
    conn: DB,
    kind: str,
    normal: str,
    interval: Annotated[str | None, Query(pattern="^(hour|day|week|month)$")] = None,
) -> HTMLResponse:
    if kind not in ENTITY_TYPES:
        raise PageError(404, f"Нет типа сущностей {kind!r}.")
    summary = queries.entity_summary(conn, kind, normal)
    if not summary["articles"]:
        raise PageError(404, f"Ни одна статья не упоминает {normal!r}.")
    interval = interval or _auto_interval(summary["first"], summary["last"])
    rows = api_queries.timeline(conn, kind, normal, interval, None, None)
    buckets = fill_buckets(rows, interval)
    capped = len(buckets) > _MAX_POINTS
    buckets = buckets[-_MAX_POINTS:]
    for b in buckets:
        b["label"] = _bucket_label(b["bucket"], interval)
    return page(
        request,
        "entity.html",
        "ui-pulse",
        kind=kind,
        normal=normal,
        total=summary["articles"],
        mentions=summary["mentions"],
        intervals=_INTERVALS,
        interval=interval,
        interval_label=dict(_INTERVALS)[interval],
        buckets=buckets,
        capped=capped,
        labels=[b["label"] for b in buckets],
        values=[b["articles"] for b in buckets],
        together=queries.co_occurring(conn, kind, normal),
        by_source=queries.entity_sources(conn, kind, normal),
        latest=queries.entity_latest(conn, kind, normal),
    )


@router.get("/stories", name="ui-stories")
def stories(request: Request, conn: DB) -> HTMLResponse:
    return page(request, "stories.html", "ui-stories", stories=queries.stories(conn))


@router.get("/stories/{story_id:path}", name="ui-story")
def story(request: Request, conn: DB, story_id: str) -> HTMLResponse:
    rows = queries.story_articles(conn, story_id)
    if not rows:
        raise PageError(404, f"Сюжета {story_id!r} нет.")
    return page(request, "story.html", "ui-stories", story_id=story_id, articles=rows)


def _empty_reason(reason: str) -> bool:
    return reason.startswith("empty after cleaning")


@router.get("/sources", name="ui-sources")
def sources(request: Request, conn: DB) -> HTMLResponse:
    """Per source: articles per day, last seen, empty-after-cleaning and dead-letter shares,
    mean text length."""
    end = queries.newest_dated(conn)
    rows: list[dict] = []
    if end is not None:
        end_day = end.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
        start = end_day - dt.timedelta(days=_SOURCE_DAYS)
        totals, daily = api_queries.sources(conn, start, end_day)
        lengths = queries.source_lengths(conn)
        dead: dict[str | None, int] = defaultdict(int)
        empty: dict[str | None, int] = defaultdict(int)
        for entry in request.app.state.ledger.dead_entries(100_000, newest_first=True):
            source = deadletters.source_of(entry)
            dead[source] += 1
            empty[source] += _empty_reason(entry.reason)
        days = [start + dt.timedelta(days=i) for i in range(_SOURCE_DAYS)]
        for row in totals:
            per_day = {d["day"]: d["articles"] for d in daily.get(row["source"], [])}
            n_dead = dead.get(row["source"], 0)
            landed = row["articles"] + n_dead
            rows.append(
                {
                    **row,
                    "day_labels": [d.strftime("%d.%m") for d in days],
                    "day_counts": [per_day.get(d, 0) for d in days],
                    "dead": n_dead / landed,
                    "empty": empty.get(row["source"], 0) / landed,
                    "mean_chars": lengths.get(row["source"], 0.0),
                }
            )
    return page(request, "sources.html", "ui-sources", rows=rows, days=_SOURCE_DAYS, end=end)


def _dead_groups(request: Request) -> list[dict]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for e in request.app.state.ledger.dead_entries(10_000, newest_first=True):
        head = e.payload[:1024].decode("utf-8", "replace")
        groups[(e.stage, e.reason)].append(
            {
                "entry_id": e.entry_id,
                "id": e.id,
                "kind": e.kind,
                "failed_at": e.failed_at,
                "size": len(e.payload),
                "head": head,
            }
        )
    out = [
        {"stage": stage, "reason": reason, "entries": entries, "last": entries[0]["failed_at"]}
        for (stage, reason), entries in groups.items()
    ]
    out.sort(key=lambda g: (-len(g["entries"]), g["stage"], g["reason"]))
    return out


@router.get("/dead", name="ui-dead")
def dead(request: Request, message: str = "") -> HTMLResponse:
    groups = _dead_groups(request)
    return page(
        request,
        "dead.html",
        "ui-dead",
        groups=groups,
        total=sum(len(g["entries"]) for g in groups),
        csrf=csrf_token(request),
        message=message[:200],
    )


@router.post("/dead/retry", name="ui-dead-retry")
def dead_retry(
    request: Request,
    csrf: Annotated[str, Form()],
    entry: Annotated[str, Form(pattern=r"^\d{1,20}-\d{1,20}$")] = "",
    all: Annotated[str, Form()] = "",
) -> Response:
    """Retry one dead letter (``entry``) or all of them; back to the list with a message."""
    check_csrf(request, csrf)
    ledger, settings = request.app.state.ledger, request.app.state.settings
    if all:
        found = list(ledger.dead_entries(100_000, newest_first=True))
    else:
        one = deadletters.get(ledger, entry) if entry else None
        found = [one] if one else []
    queued = producer.retry_dead(ledger, found, settings) if found else 0
    message = f"Отправлено заново: {queued} из {len(found)}."
    return RedirectResponse(f"/ui/dead?message={quote(message)}", status_code=303)


def install(app: FastAPI) -> None:
    """Add the pages to the API's app: ``/ui/…``, their static files, ``/`` → ``/ui/``."""
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="ui-static")
    app.include_router(public)
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def home() -> Response:
        return RedirectResponse("/ui/", status_code=307)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        response = page(request, "error.html", "", status=exc.status, message=exc.message)
        response.status_code = exc.status
        return response

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/ui/login?next={quote(target)}", status_code=303)
