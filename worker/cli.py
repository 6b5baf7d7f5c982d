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
    from config import get_settings as settings_in_force

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

    Settings come from NEWSWORKER_* environment variables (see `newsworker config`).
    """


@main.command()
@click.option("--concurrency", "-c", type=int, default=None, help="Worker processes [cores].")
def up(concurrency: int | None) -> None:
    """Start Redis (embedded unless NEWSWORKER_REDIS_URL is set), a worker and Flower.

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
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
def worker(celery_args: tuple[str, ...]) -> None:
    """Run a Celery worker against the configured broker (add one per machine to scale).

    Extra arguments go to `celery worker`.
    """
    from worker.embedded import worker_command

    cmd = worker_command(get_settings()) + list(celery_args)
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
def submit(paths: tuple[str, ...], wait: bool, timeout: float | None, force: bool) -> None:
    """Enqueue articles: files, directories or - (stdin).

    .txt is raw text, .html a page, .json/.jsonl records with at least "text" or "html"
    (optional "id", "url", "source", "title", "published_at"). Files are read one at a time
    (JSONL a line at a time); a file (or line) over NEWSWORKER_MAX_FILE_BYTES is refused
    unread, named on stderr, and the rest submitted. Prints one JSON summary line:
    {"submitted", "queued", "duplicates"} (and "refused" if any: then exit 1) and, with --wait,
    "processed", "dead", "pending".
    """
    from worker import ingest, producer

    settings = _settings()
    _require_redis(settings)
    missing = [p for p in paths if p != "-" and not Path(p).exists()]
    if missing:
        raise click.ClickException(f"no such file or directory: {missing[0]}")
    refused: list[str] = []

    def refuse(origin: str, reason: str) -> None:
        refused.append(origin)
        _say(f"refused {origin}: {reason}")

    items = ingest.read_paths(list(paths), max_file_bytes=settings.max_file_bytes, refused=refuse)
    try:
        done = producer.submit(items, settings, force=force)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        raise click.ClickException(str(exc)) from None
    result: dict[str, Any] = {
        "submitted": len(done.queued) + len(done.duplicates),
        "queued": len(done.queued),
        "duplicates": len(done.duplicates),
    }
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
@click.option("--group", "-g", default="newsworker", show_default=True, help="Consumer group.")
@click.option("--consumer", default=None, help="Consumer name [host-pid].")
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
@click.argument("task", type=click.Choice(["clean", "ner", "summarize"]))
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
@click.option("--sentences", type=int, default=None, help="summarize: summary length.")
def eval_(task: str, file: Path, input_: str, replay: bool, sentences: int | None) -> None:
    """Measure a stage on an evaluation file; print one JSON object of metrics."""
    get_settings()
    if task == "clean":
        from worker.evaluate.clean import evaluate

        metrics = evaluate(file, input=input_, replay=replay)
    elif task == "ner":
        from worker.evaluate.ner import evaluate

        metrics = evaluate(file)
    else:
        from worker.evaluate.summarize import evaluate

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
    "--burst",
    type=int,
    default=None,
    metavar="N",
    help="Instead: N articles submitted at once, breadth first and depth first: seconds to the "
    "first record, p50/p95 submit-to-stream latency, drain.",
)
def bench(paths: tuple[str, ...], count: int, processes: int | None, burst: int | None) -> None:
    """Measure throughput, latency and memory; print one JSON object (a benchmark, not a test).

    PATHS: files or folders of articles (default: the dev pages in ../shared/eval/clean and
    the sample in ../shared/samples). Uses the configured Redis if it answers, else starts a
    private embedded one; workers run in a namespace of their own, removed afterwards.
    """
    from worker.bench import run, run_burst

    settings = _settings()
    shared = Path("../shared")
    default = [str(shared / "eval/clean/daniel_ru_dev.jsonl"), str(shared / "samples")]
    inputs, procs = list(paths) or default, processes or os.cpu_count() or 1
    if burst:
        result = run_burst(inputs, burst, procs, _say, settings)
    else:
        result = run(inputs, count, procs, _say, settings)
    _emit(result)


@main.command()
@click.option("--count", "-n", type=int, default=20, show_default=True)
def dead(count: int) -> None:
    """List dead letters (oldest first), one JSON line each, payload shown as text."""
    from worker.delivery.ledger import Ledger

    settings = _settings()
    _require_redis(settings)
    for entry in Ledger(settings).dead_entries(count):
        _emit(
            {
                "entry": entry.entry_id,
                "id": entry.id,
                "stage": entry.stage,
                "reason": entry.reason,
                "failed_at": entry.failed_at,
                "kind": entry.kind,
                "payload": entry.payload.decode("utf-8", "replace"),
            }
        )


@main.command("retry-dead")
@click.option("--stage", default=None, help="Only those that failed at this stage.")
def retry_dead(stage: str | None) -> None:
    """Submit the dead letters again (with their original payloads) and remove them."""
    from worker import producer
    from worker.delivery.ledger import Ledger
    from worker.ingest import Submission

    settings = _settings()
    _require_redis(settings)
    ledger = Ledger(settings)
    entries = [e for e in ledger.dead_entries() if stage is None or e.stage == stage]
    ledger.forget([e.id for e in entries])
    items = [Submission(e.id, e.kind, e.payload, f"dead:{e.entry_id}") for e in entries]  # type: ignore[arg-type]
    done = producer.submit(items, settings)
    ledger.remove_dead([e.entry_id for e in entries])
    _emit({"retried": len(done.queued)})


@main.command()
def schema() -> None:
    """Print the JSON schema of the output record."""
    from worker.schema import Record

    _emit(Record.model_json_schema())


@main.command()
def config() -> None:
    """Print the settings in force (passwords masked)."""
    _emit(get_settings().masked())
