"""``newsworker``: the one command users run.

Data goes to stdout (JSON), progress and messages to stderr, so the commands compose in scripts.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # every import but click's is made where a command needs it: --help is fast
    from config import Settings


def get_settings() -> Settings:
    """The settings in force, once they pass the strict checks (config.check): an unknown
    NEWSWORKER_* name, sink, bad URL or limit stops the command here."""
    from config import get_settings as settings_in_force
    from config.check import ConfigError, check

    try:
        check()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    return settings_in_force()


def _settings() -> Settings:
    settings = get_settings()
    from worker.logs import setup_logging

    setup_logging(settings)
    return settings


def _say(message: str) -> None:
    click.echo(message, err=True)


def _emit(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


def _require_redis(settings: Settings) -> None:
    """Fail with a clear message when the Redis that holds the state does not answer."""
    import redis

    from worker.delivery.ledger import connect

    try:
        connect(settings).ping()
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError) as exc:
        where = (
            f"the embedded Redis ({settings.socket_path})"
            if settings.embedded
            else "NEWSWORKER_REDIS_URL"
        )
        raise click.ClickException(
            f"cannot reach {where}: {exc}. Start the stack with `newsworker up`, "
            "or set NEWSWORKER_REDIS_URL."
        ) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="newsworker")
def main() -> None:
    """Clean, extract entities from, summarise and deliver Russian news articles.

    Settings come from NEWSWORKER_* environment variables, a .env file and a secrets
    directory (see `newsworker config`); an unknown NEWSWORKER_* name stops every command.
    """


@main.command()
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes [cores].")
def up(concurrency: int | None) -> None:
    """Start Redis and PostgreSQL (each embedded unless NEWSWORKER_REDIS_URL /
    NEWSWORKER_POSTGRES_DSN names one), a worker, Flower and the HTTP API.

    Runs in the foreground; Ctrl-C stops all of them cleanly.
    """
    from worker.embedded import run_stack

    settings = _settings()
    if concurrency:
        settings = settings.model_copy(update={"concurrency": concurrency})
    try:
        code = run_stack(settings, _say)
    except RuntimeError as exc:  # already running; Redis that would not start
        raise click.ClickException(str(exc)) from None
    sys.exit(code)


@main.command(context_settings={"ignore_unknown_options": True})
@click.option(
    "--fetch",
    is_flag=True,
    help="Fetch pages instead (queue NEWSWORKER_FETCH_QUEUE, NEWSWORKER_FETCH_CONCURRENCY "
    "threads): what `newsworker watch` needs beside the workers.",
)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(fetch: bool, celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker against the configured broker (add one per machine to scale).

    Extra arguments go to `celery worker`.
    """
    from worker.embedded import fetch_worker_command, worker_command

    command = fetch_worker_command if fetch else worker_command
    cmd = command(get_settings()) + list(celery_args)
    os.execv(cmd[0], cmd)


@main.command()
def flower() -> None:
    """Run Flower against the configured broker (address and auth from NEWSWORKER_FLOWER_*)."""
    from worker.embedded import flower_command

    cmd, env = flower_command(get_settings())
    os.execve(cmd[0], cmd, {**os.environ, **env})


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--wait", is_flag=True, help="Wait until every article has landed; print counts.")
@click.option("--timeout", type=float, default=None, help="Give up waiting after SECONDS.")
@click.option("--force", is_flag=True, help="Process again articles already processed.")
@click.option(
    "--encoding",
    default=None,
    metavar="NAME",
    help="Read the files in this encoding (e.g. cp1251) [detected: BOM, charset, content].",
)
def submit(
    paths: tuple[str, ...], wait: bool, timeout: float | None, force: bool, encoding: str | None
) -> None:
    """Enqueue articles: files, directories or - (stdin).

    .txt is raw text, .html a page, .json/.jsonl records with at least "text" or "html"
    (optional "id", "url", "source", "title", "published_at"); suffixes in any case, a file
    without one is read by its content. Files are read one at a time (JSONL a line at a time);
    a file (or line) over NEWSWORKER_MAX_FILE_BYTES is refused unread, named on stderr, and the
    rest submitted. Prints one JSON summary line: {"submitted", "queued", "duplicates"},
    "skipped" (files of other types in folders) if any, "refused" if any (then exit 1), and,
    with --wait, "processed", "dead", "pending". A file of another type given by path is
    refused (exit 2).
    """
    from worker import ingest, producer

    settings = _settings()
    _require_redis(settings)
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        raise click.ClickException(f"no such file or directory: {missing[0]}")
    for p in paths:
        if p != "-" and Path(p).is_file() and not ingest.supported(Path(p)):
            known = ", ".join(ingest.SUFFIX_KIND)
            raise click.UsageError(
                f"{p}: {Path(p).suffix} files are not supported (newsworker reads {known}, "
                "and files without a suffix by their content)"
            )
    refused: list[str] = []

    def refuse(origin: str, reason: str) -> None:
        refused.append(origin)
        _say(f"refused {origin}: {reason}")

    scan = ingest.Scan()
    items = ingest.read_paths(
        list(paths),
        encoding=encoding,
        scan=scan,
        max_file_bytes=settings.max_file_bytes,
        refused=refuse,
    )
    sent = 0

    def progress(n: int) -> None:
        nonlocal sent
        sent += n
        if sys.stderr.isatty():
            click.echo(f"\rsubmitting: {sent}", nl=False, err=True)

    try:
        done = producer.submit(items, settings, force=force, on_progress=progress)
    except ingest.Unsupported as exc:
        raise click.UsageError(str(exc)) from None
    except (FileNotFoundError, IsADirectoryError, PermissionError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if sent and sys.stderr.isatty():
        click.echo(err=True)
    for origin in scan.empty:
        _say(f"nothing to submit in {origin}")
    result: dict[str, Any] = {
        "submitted": len(done.queued) + len(done.duplicates),
        "queued": len(done.queued),
        "duplicates": len(done.duplicates),
    }
    if scan.skipped:
        result["skipped"] = len(scan.skipped)
    if refused:
        result["refused"] = len(refused)
    if wait and done.queued:
        with click.progressbar(length=len(done.queued), label="waiting", file=sys.stderr) as bar:
            outcome = producer.wait(done.queued, settings, timeout=timeout, on_progress=bar.update)
        result.update(
            processed=outcome["processed"], dead=outcome["dead"], pending=outcome["pending"]
        )
    elif wait:
        result.update(processed=0, dead=0, pending=0)
    _emit(result)
    if result.get("pending"):
        sys.exit(2)
    if refused:
        sys.exit(1)


@main.command()
@click.argument("sources", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--once", is_flag=True, help="Poll every source once, print the counts, exit.")
@click.option("--force", is_flag=True, help="Process again articles already processed.")
def watch(sources: Path, once: bool, force: bool) -> None:
    """Poll feeds, sitemaps and pages listed in SOURCES; queue every new article for the fetch
    workers (`newsworker worker --fetch`, which `up` starts).

    SOURCES has one source a line: [feed|sitemap|page] URL [every=DURATION] (# comments). It
    is re-read when it changes. Prints one JSON line of counts per round that did something:
    "polled", "not_modified", "items", "queued", "unchanged", "failed".
    """
    import signal
    import threading

    from worker.delivery.ledger import Ledger
    from worker.fetch.client import Client
    from worker.fetch.pending import Pending
    from worker.fetch.sources import BadSources, SourcesFile
    from worker.fetch.state import WatchState
    from worker.fetch.watch import Watcher

    settings = _settings()
    _require_redis(settings)
    ledger = Ledger(settings)
    from worker.celery_app import app

    pending = Pending(settings, ledger.redis, app)
    watcher = Watcher(
        settings,
        SourcesFile(sources),
        Client(settings, ledger.redis),
        WatchState(settings, ledger.redis),
        ledger,
        lambda item: pending.send(item.url, force=force, published_at=item.published_at),
    )
    try:
        if once:
            _emit(dict(watcher.round(all_sources=True)))
            return
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        _say(f"watching {len(watcher.sources.sources) or 'the'} source(s) of {sources}")
        watcher.run(stop, lambda counts: _emit(dict(counts)))
    except BadSources as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@click.option("--group", "-g", default="newsworker", show_default=True, help="Consumer group.")
@click.option("--consumer", default=None, help="Consumer name [consume@HOST].")
@click.option("--count", "-n", type=int, default=None, help="Stop after N records.")
@click.option("--follow", "-f", is_flag=True, help="Keep waiting for new records.")
def consume(group: str, consumer: str | None, count: int | None, follow: bool) -> None:
    """Print processed records, one JSON line each, reading the stream as a consumer group.

    Each record is acknowledged after it is printed. Without --follow, stops when caught up.
    """
    from worker.consumer import consume as run

    settings = _settings()
    _require_redis(settings)
    n = run(settings, group, _emit, consumer=consumer, count=count, follow=follow)
    _say(f"{n} record(s)")


@main.command()
@click.argument("path")
def process(path: str) -> None:
    """Run every stage on one article in this process (no broker); print the record as JSON."""
    from worker import ingest, pipeline
    from worker.errors import BadArticle

    settings = _settings()
    try:
        items = list(ingest.read_paths([path], max_file_bytes=settings.max_file_bytes))
    except ingest.Unsupported as exc:
        raise click.UsageError(str(exc)) from None
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    failed = False
    for item in items:
        try:
            record = pipeline.process(item.id, item.kind, item.payload, settings)
        except BadArticle as exc:
            _say(f"{item.origin}: {exc}")
            failed = True
            continue
        click.echo(record.model_dump_json())
    if failed:
        sys.exit(1)


@main.command("eval")
@click.argument("task", type=click.Choice(["clean", "ner", "summarize", "stories", "reprints"]))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--input",
    "input_",
    type=click.Choice(["html", "text"]),
    default="html",
    show_default=True,
    help="clean: evaluate on the page HTML or its flattened text.",
)
@click.option(
    "--replay",
    is_flag=True,
    help="clean: learn each source's chrome from its earlier pages, in file order.",
)
@click.option(
    "--anchors/--no-anchors",
    default=True,
    show_default=True,
    help="clean, html: also run trafilatura and readability-lxml on the same pages "
    '(the `eval` extra) and print their figures under "anchors".',
)
@click.option("--sentences", type=int, default=None, help="summarize: summary length.")
def eval_(
    task: str, file: Path, input_: str, replay: bool, anchors: bool, sentences: int | None
) -> None:
    """Measure a stage on an evaluation file; print one JSON object of metrics.

    stories: labelled pairs (../shared/eval/dedup/*.jsonl) through the grouping step as a
    stream, beside the tf-idf baseline. reprints: a synthetic reprint check built from pages
    (../shared/eval/clean/daniel_ru_dev.jsonl). Both use the configured Redis (a namespace of
    their own, removed afterwards), else a private embedded one.
    """
    settings = get_settings()
    if task in ("stories", "reprints"):
        if task == "stories":
            from worker.evaluate.stories import evaluate as evaluate_stories
        else:
            from worker.evaluate.reprints import evaluate as evaluate_stories
        _emit(evaluate_stories(file, settings))
        return
    if task == "clean":
        from worker.evaluate.clean import evaluate

        metrics = evaluate(file, input=input_, replay=replay, anchors=anchors)
    elif task == "ner":
        from worker.evaluate.ner import evaluate

        metrics = evaluate(file)
    else:
        try:
            from worker.evaluate.summarize import evaluate
        except ModuleNotFoundError as exc:  # the Docker image leaves the eval extra out
            raise click.ClickException(
                f"`eval summarize` needs {exc.name}: pip install 'newsworker[eval]'"
            ) from None
        metrics = evaluate(file, sentences=sentences)
    _emit(metrics)


@main.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--count",
    "-n",
    type=int,
    default=300,
    show_default=True,
    help="Articles to measure on (the inputs repeated with new ids).",
)
@click.option("--processes", "-p", type=int, default=None, help="Worker processes [cores].")
@click.option(
    "--fetch",
    "fetch",
    is_flag=True,
    help="Measure fetching instead: pages/s of one fetch worker from a local server, and the "
    "NLP workers' throughput with fetching beside them vs without.",
)
@click.option(
    "--stories",
    is_flag=True,
    help="Instead: the grouping index at scale (insert+query ms per article, Redis bytes per "
    "indexed article), on a private Redis.",
)
@click.option(
    "--sizes",
    default="10000,100000,1000000",
    show_default=True,
    help="--stories: index sizes (articles in the window) to measure at.",
)
@click.option(
    "--alert-rules",
    type=int,
    default=None,
    help="Instead: the cost of checking each article against N generated alert rules.",
)
@click.option(
    "--soak",
    "soak_minutes",
    type=float,
    default=None,
    metavar="MINUTES",
    help="Instead: a steady load for MINUTES with retention on, on a private Redis; prints "
    "the slopes of Redis's and the worker's memory and what a slow consumer group lost.",
)
@click.option(
    "--rate", type=float, default=2.0, show_default=True, help="--soak: articles per second."
)
@click.option(
    "--in-process-only", is_flag=True, help="Only the in-process figures (no Celery workers)."
)
@click.option(
    "--save-baseline",
    is_flag=True,
    help="Record this run's in-process figures, and the commit, as the baseline later runs "
    "are compared with (worker/bench_baseline.json).",
)
@click.option(
    "--burst",
    type=int,
    default=None,
    metavar="N",
    help="Instead: N articles submitted at once, breadth first and depth first: seconds to the "
    "first record, p50/p95 submit-to-stream latency, drain.",
)
def bench(
    paths: tuple[str, ...],
    count: int,
    processes: int | None,
    fetch: bool,
    stories: bool,
    sizes: str,
    alert_rules: int | None,
    soak_minutes: float | None,
    rate: float,
    in_process_only: bool,
    save_baseline: bool,
    burst: int | None,
) -> None:
    """Measure throughput, latency and memory; print one JSON object (a benchmark, not a test).

    In process: each stage's CPU per article beside its floor (clean: lxml's parse and text;
    entities: tokens and the NER forward pass, beside natasha's NER call; summarize: the sentence
    split), the total against the recorded baseline (worker/bench_baseline.json, with its
    commit), and the memory one 256k-character article adds. Then through Celery workers.

    PATHS: files or folders of articles (default: the dev pages in ../shared/eval/clean and
    the sample in ../shared/samples). Uses the configured Redis if it answers, else starts a
    private embedded one; workers run in a namespace of their own, removed afterwards.
    """
    settings = _settings()
    if stories:
        from worker.stories.bench import run as run_index

        _emit(run_index([int(s) for s in sizes.split(",") if s.strip()], settings, _say))
        return
    shared = Path("../shared")
    if fetch:
        from worker.fetch.bench import run as run_fetch

        pages = paths[0] if paths else str(shared / "eval/clean/daniel_ru_dev.jsonl")
        n = processes or os.cpu_count() or 1
        _emit(run_fetch(pages, count, n, _say, settings))
        return
    default = [str(shared / "eval/clean/daniel_ru_dev.jsonl"), str(shared / "samples")]
    workers = processes or os.cpu_count() or 1
    if alert_rules is not None:
        from worker.alerts.bench import measure

        _emit(measure(list(paths) or default, count, alert_rules, settings))
        return
    if soak_minutes is not None:
        from worker.ops import soak

        _emit(soak.run(list(paths) or default, soak_minutes, rate, workers, _say, settings))
        return
    from worker.bench import run, run_burst

    if burst:
        _emit(run_burst(list(paths) or default, burst, workers, _say, settings))
        return
    result = run(
        list(paths) or default,
        count,
        workers,
        _say,
        settings,
        celery=not in_process_only,
        save_baseline=save_baseline,
    )
    _emit(result)


@main.command()
@click.option("--count", "-n", type=int, default=20, show_default=True)
@click.option("--full", is_flag=True, help="Whole stored payloads, also on a terminal.")
def dead(count: int, full: bool) -> None:
    """List dead letters (newest first), one JSON line each, payload shown as text.

    A dead letter keeps at most NEWSWORKER_DEAD_PAYLOAD_BYTES of the payload, with its full
    size and sha256. On a terminal each payload is cut to a line's width (--full: whole).
    """
    import shutil

    from worker.delivery.ledger import Ledger

    settings = _settings()
    _require_redis(settings)
    width = None if full or not sys.stdout.isatty() else shutil.get_terminal_size().columns
    for entry in Ledger(settings).dead_entries(count, newest_first=True):
        payload = entry.payload.decode("utf-8", "replace")
        if width is not None and len(payload) > width:
            payload = payload[: max(20, width)] + "…"
        _emit(
            {
                "entry": entry.entry_id,
                "id": entry.id,
                "stage": entry.stage,
                "reason": entry.reason,
                "failed_at": entry.failed_at,
                "kind": entry.kind,
                "payload": payload,
                "payload_bytes": entry.payload_bytes,
                "payload_sha256": entry.payload_sha256,
                "payload_truncated": entry.truncated,
            }
        )


@main.command("retry-dead")
@click.option("--stage", default=None, help="Only those that failed at this stage.")
def retry_dead(stage: str | None) -> None:
    """Submit the dead letters again (with their original payloads) and remove them.

    A dead letter whose payload was cut (over NEWSWORKER_DEAD_PAYLOAD_BYTES) stays.
    """
    from worker import producer
    from worker.delivery.ledger import Ledger

    settings = _settings()
    _require_redis(settings)
    ledger = Ledger(settings)
    entries = [e for e in ledger.dead_entries() if stage is None or e.stage == stage]
    cut = [e for e in entries if e.truncated]
    if cut:
        _say(f"{len(cut)} dead letter(s) kept only part of their payload: not retried")
    _emit({"retried": producer.retry_dead(ledger, entries, settings)})


@main.command()
@click.option("--count", "-n", type=int, default=20, show_default=True)
def stories(count: int) -> None:
    """List the stories active in the window, the most recently joined first.

    One JSON line each: id, size, first_source, first_title, first_id, first_seen, last_seen.
    """
    from worker.delivery.ledger import connect
    from worker.stories import story_index

    settings = _settings()
    _require_redis(settings)
    for story in story_index(settings, connect(settings)).recent(count):
        _emit(story)


@main.command()
@click.argument("story_id")
def story(story_id: str) -> None:
    """List a story's articles of the window (NEWSWORKER_STORY_WINDOW) in the order they
    joined it.

    One JSON line each: id, joined_at, duplicate_of, source and title (from the Redis record,
    when the redis sink has it).
    """
    from worker.delivery.ledger import Keys, connect
    from worker.stories import story_index
    from worker.stories.index import iso

    settings = _settings()
    _require_redis(settings)
    client = connect(settings)
    index = story_index(settings, client)
    members = index.members(story_id)
    if not members:
        raise click.ClickException(f"no story {story_id} in the window")
    for article_id, joined in members:
        entry = index.entry(article_id)
        raw = client.get(Keys(settings).record(article_id))
        title = json.loads(raw).get("title") if raw else None
        _emit(
            {
                "id": article_id,
                "joined_at": iso(joined),
                "duplicate_of": entry.duplicate_of if entry else None,
                "source": entry.source if entry else None,
                "title": title,
            }
        )


@main.command()
def health() -> None:
    """Check from here what a worker checks on /healthz: the broker, Redis, each sink.

    Prints one JSON object; exit code 1 when a check fails.
    """
    from worker.ops import health as checks

    ok, results = checks.run(_settings())
    _emit({"ok": ok, "checks": results})
    if not ok:
        sys.exit(1)


@main.command()
def schema() -> None:
    """Print the JSON schema of the output record."""
    from worker.schema import Record

    _emit(Record.model_json_schema())


@main.command()
def config() -> None:
    """Print the settings in force (passwords masked)."""
    _emit(get_settings().masked())


@main.command()
def api() -> None:
    """Run the HTTP API (address and port from NEWSWORKER_API_*; OpenAPI at /openapi.json).

    Every endpoint but /openapi.json, /docs and /health wants the header
    `Authorization: Bearer TOKEN`: NEWSWORKER_API_TOKEN, else the token kept in
    NEWSWORKER_HOME/api-token (generated on first start).
    """
    from worker.api.server import serve

    settings = _settings()
    _require_redis(settings)
    if not settings.effective_postgres_dsn:
        raise click.ClickException(
            "no PostgreSQL: set NEWSWORKER_POSTGRES_DSN, or start the stack with `newsworker up`"
        )
    serve(settings)


@main.command()
def ui() -> None:
    """Run the analysts' pages: the API's server (same app, same token), pages at /ui/.

    The pages ask once for the API token (NEWSWORKER_API_TOKEN, else the one kept in
    NEWSWORKER_HOME/api-token) and keep it in a cookie. `newsworker api` serves them too.
    """
    settings = _settings()
    _say(
        f"pages: http://{settings.api_address}:{settings.api_port}/ui/ "
        f"(token: NEWSWORKER_API_TOKEN or {settings.home / 'api-token'})"
    )
    click.get_current_context().invoke(api)


@main.command("bench-page")
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=Path("../shared/eval/clean/daniel_ru_dev.jsonl"),
    show_default=True,
    help="Pages whose clean texts make up the article.",
)
@click.option("--chars", type=int, default=20_000, show_default=True, help="Article length.")
@click.option("--repeat", "-n", type=int, default=50, show_default=True)
def bench_page(file: Path, chars: int, repeat: int) -> None:
    """Time the article page on the server for a long article; print one JSON object.

    Stores the article in a PostgreSQL schema of its own (NEWSWORKER_POSTGRES_DSN), dropped
    afterwards, and requests /ui/articles/{id} from the API's app in this process.
    """
    from worker.ui.bench import run

    settings = _settings()
    _emit(run(file, chars, repeat, _say, settings))
