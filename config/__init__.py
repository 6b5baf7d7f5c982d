"""All settings of newsworker, read from the environment (prefix ``NEWSWORKER_``).

Every variable is documented in the README's "Configuration" table; ``newsworker config``
prints the values in force (secrets masked).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
)


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "newsworker"


def env_file(environ: Mapping[str, str] = os.environ) -> Path:
    """The .env file read under the environment: NEWSWORKER_ENV_FILE, else ./.env."""
    return Path(environ.get("NEWSWORKER_ENV_FILE") or ".env")


def secrets_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The directory of one file per secret setting (Docker secrets): NEWSWORKER_SECRETS_DIR,
    else /run/secrets."""
    return Path(environ.get("NEWSWORKER_SECRETS_DIR") or "/run/secrets")


class Settings(BaseSettings):
    """Read, by priority: arguments, the environment, the .env file (see :func:`env_file`),
    files in the secrets directory named like the variable (see :func:`secrets_dir`)."""

    model_config = SettingsConfigDict(env_prefix="NEWSWORKER_", extra="ignore")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings]
        if env_file().is_file():
            sources.append(DotEnvSettingsSource(settings_cls, env_file=env_file()))
        if secrets_dir().is_dir():
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=secrets_dir()))
        return tuple(sources)

    # --- where things live -------------------------------------------------------------
    home: Path = Field(
        default_factory=_default_home,
        description="Data directory of the embedded Redis (socket, append-only file) and "
        "PostgreSQL (pg/), and of the generated Flower password and API token.",
    )
    redis_url: str = Field(
        "",
        description="Redis holding records, streams and state. Empty: the embedded Redis "
        "that `newsworker up` starts (unix socket under NEWSWORKER_HOME).",
    )
    broker_url: str = Field(
        "",
        description="Celery broker. Empty: same as the Redis URL. May be amqp://… (RabbitMQ).",
    )
    key_prefix: str = Field("nw", description="Prefix of every Redis key newsworker writes.")
    queue: str = Field("newsworker", description="Celery queue the pipeline tasks run on.")

    # --- sinks ---------------------------------------------------------------------------
    sinks: str = Field(
        "redis,postgres",
        description="Comma-separated sinks every processed article is delivered to: "
        "redis, jsonl, postgres.",
    )
    stream: str = Field("articles", description="Stream (after the prefix) announcing records.")
    dead_stream: str = Field("dead", description="Stream (after the prefix) of dead letters.")
    stream_maxlen: int = Field(
        0,
        ge=0,
        description="At most this many entries on the records stream (0: no length bound); "
        "never trimmed past an entry a consumer group still needs.",
    )
    stream_max_age: float = Field(
        86400,
        ge=0,
        description="Seconds an entry stays on the records stream (0: no age bound); never "
        "trimmed past an entry a consumer group still needs.",
    )
    dead_max_age: float = Field(
        30 * 86400, ge=0, description="Seconds a dead letter is kept (0: until retried)."
    )
    record_ttl: int = Field(
        86400,
        ge=0,
        description="Seconds the Redis record and the state of an article are kept once it "
        "landed in every sink (0: forever).",
    )
    retention_interval: float = Field(
        60, ge=0, description="Seconds between stream trims (0: never trim)."
    )
    jsonl_path: Path = Field(Path("articles.jsonl"), description="File of the jsonl sink.")
    postgres_dsn: str = Field(
        "",
        description="PostgreSQL of the query store (postgres sink, API, alert rules). Empty: "
        "the embedded one that `newsworker up` starts (data in NEWSWORKER_HOME/pg).",
    )
    postgres_schema: str = Field(
        "public",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL schema holding the store's tables (created and migrated on start).",
    )

    payload_ttl: int = Field(
        7 * 24 * 3600, description="Seconds a submitted payload waits in Redis to be processed."
    )

    # --- processing ----------------------------------------------------------------------
    summary_sentences: int = Field(3, ge=1, description="Sentences in a summary.")
    summary_chars: int = Field(
        0, ge=0, description="If > 0, the summary's budget in characters instead."
    )
    max_payload_bytes: int = Field(
        5_000_000, description="Larger submitted payloads are dead-lettered."
    )
    max_file_bytes: int = Field(
        50_000_000,
        ge=1,
        description="submit reads no larger file (counted and reported as refused); a JSONL "
        "file is read a line at a time, and no line may be larger.",
    )
    max_text_chars: int = Field(
        200_000, description="Clean text longer than this is dead-lettered."
    )
    min_text_chars: int = Field(
        40,
        ge=0,
        description="Clean text shorter than this (about one short sentence) is dead-lettered "
        "as too short after cleaning (an empty page, an error or cookie notice, a stub); 0 "
        "turns the check off.",
    )
    learn_chrome: bool = Field(
        True,
        description="Learn per source (domain) which lines recur across its articles, and "
        "drop them as chrome.",
    )
    reject_non_russian: bool = Field(
        False, description="Dead-letter articles whose text is not Russian."
    )
    stories: bool = Field(
        True,
        description="Group articles: mark reprints (duplicate_of) and stories (story) in a "
        "Redis index shared by the workers.",
    )
    story_window: int = Field(
        72 * 3600,
        ge=60,
        description="Seconds an article stays in the grouping index: a reprint or a story "
        "joins articles at most this far apart.",
    )

    # --- worker --------------------------------------------------------------------------
    concurrency: int = Field(0, ge=0, description="Worker processes; 0 = number of cores.")
    batch_size: int = Field(
        16,
        ge=1,
        description="Articles submitted together travel in one message per stage, up to this "
        "many; a lone article goes alone (no waiting).",
    )
    prefetch: int = Field(
        2,
        ge=1,
        description="Messages each worker process holds ready (Celery's prefetch multiplier): "
        "2 keeps a process busy from one batch to the next; 1 for very long tasks.",
    )
    task_time_limit: float = Field(
        120, gt=0, description="Hard time limit of one stage of a batch, seconds (soft: 90%)."
    )
    max_deliveries: int = Field(
        3, ge=1, description="Deliveries of one task message (worker deaths) before dead letter."
    )
    max_memory_mb: int = Field(
        1500, description="A worker process above this resident size is replaced after its task."
    )
    max_retries: int = Field(8, description="Retries of a failing delivery before dead letter.")
    visibility_timeout: int = Field(
        3600, description="Seconds before an unacknowledged Redis message is redelivered."
    )

    task_events: bool = Field(True, description="Send task events (what Flower shows).")

    # --- fetching (newsworker watch, the fetch workers) ----------------------------------
    fetch_queue: str = Field("fetch", description="Celery queue of the fetch tasks.")
    fetch_concurrency: int = Field(
        8, ge=1, description="Threads of a fetch worker (network waits, not CPU)."
    )
    user_agent: str = Field(
        "newsworker/0.1 (+https://github.com/newsworker/newsworker)",
        description="User-Agent of every request, and the name robots.txt rules are read for.",
    )
    fetch_timeout: float = Field(
        20, gt=0, description="Seconds one request may take, start to last byte."
    )
    fetch_max_bytes: int = Field(
        5_000_000, ge=1, description="Larger responses (after decompression) are refused."
    )
    fetch_max_redirects: int = Field(5, ge=0, description="Redirects followed per request.")
    fetch_retries: int = Field(
        3, ge=0, description="Retries of a fetch after a timeout, 429 or 5xx, then dead letter."
    )
    fetch_retry_delay: float = Field(
        30, ge=0, description="Seconds before the first retry (doubling; Retry-After wins)."
    )
    host_concurrency: int = Field(
        2, ge=1, description="Requests in flight per host, across all fetch workers."
    )
    host_rate: float = Field(
        1.0, gt=0, description="Requests per second per host, across all fetch workers."
    )
    robots_txt: bool = Field(True, description="Honour robots.txt.")
    robots_ttl: int = Field(3600, ge=1, description="Seconds a host's robots.txt is cached.")
    watch_interval: float = Field(
        300, gt=0, description="Seconds between polls of a source (a line may say every=…)."
    )
    watch_max_backoff: float = Field(
        3600, gt=0, description="Longest wait before polling a failing source again, seconds."
    )
    watch_seen_ttl: int = Field(
        30 * 24 * 3600, ge=1, description="Seconds watch remembers an item it has queued."
    )
    # --- operations ----------------------------------------------------------------------
    consumer_claim_idle: float = Field(
        60,
        gt=0,
        description="Seconds an entry a consumer was given may stay unacknowledged before "
        "another consumer of its group claims it.",
    )
    metrics_address: str = Field(
        "127.0.0.1", description="Address each worker serves /metrics and /healthz on."
    )
    metrics_port: int = Field(
        9808, ge=0, le=65535, description="Port of /metrics and /healthz; 0: any free port."
    )
    dead_payload_bytes: int = Field(
        1_000_000,
        ge=0,
        description="Bytes of the original payload a dead letter keeps (with its size and "
        "sha256); a longer payload is cut.",
    )

    # --- flower and logs -----------------------------------------------------------------
    flower_address: str = Field("127.0.0.1", description="Address Flower listens on.")
    flower_port: int = Field(5555, description="Port Flower listens on.")
    flower_basic_auth: str = Field(
        "",
        description="user:password for Flower's basic auth; empty: generated once and kept in "
        "NEWSWORKER_HOME/flower-auth.",
    )
    # --- API -----------------------------------------------------------------------------
    api_address: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    api_port: int = Field(8000, description="Port the HTTP API listens on.")
    api_token: str = Field(
        "",
        description="Token the API requires (header `Authorization: Bearer TOKEN`); empty: "
        "generated once and kept in NEWSWORKER_HOME/api-token.",
    )
    api_max_page_size: int = Field(200, ge=1, description="Largest page the API returns.")
    api_query_timeout: float = Field(
        5.0, gt=0, description="Seconds one API query may run before it is cancelled (503)."
    )

    # --- alerts ----------------------------------------------------------------------------
    alerts_file: Path | None = Field(
        None,
        description="JSON or YAML file of standing queries (alert rules), besides those "
        "created with POST /alerts; re-read when it changes.",
    )
    alerts_stream: str = Field("alerts", description="Stream (after the prefix) of alert matches.")
    alert_retries: int = Field(
        8,
        ge=0,
        description="Retries of a failing webhook call (exponential backoff) before "
        "the match is dead-lettered to the stream `alerts:dead`.",
    )
    alert_timeout: float = Field(10.0, gt=0, description="Seconds one webhook call may take.")

    log_level: str = Field("INFO", description="Log level.")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="auto: console on a terminal, JSON otherwise."
    )

    @model_validator(mode="after")
    def _visibility_above_tasks(self) -> Settings:
        if self.visibility_timeout <= self.task_time_limit:
            raise ValueError(
                "NEWSWORKER_VISIBILITY_TIMEOUT must exceed NEWSWORKER_TASK_TIME_LIMIT, or a "
                "running task's message is handed to a second worker"
            )
        return self

    # --- derived -------------------------------------------------------------------------
    @property
    def embedded(self) -> bool:
        return not self.redis_url

    @property
    def socket_path(self) -> Path:
        return self.home / "redis.sock"

    @property
    def effective_redis_url(self) -> str:
        return self.redis_url or f"unix://{self.socket_path}?db=0"

    @property
    def effective_broker_url(self) -> str:
        """The broker: as given, else the Redis URL (kombu spells unix sockets redis+socket)."""
        if self.broker_url:
            return self.broker_url
        url = self.effective_redis_url
        if url.startswith("unix://"):
            parts = urlsplit(url)
            db = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p).get("db", "0")
            return f"redis+socket://{parts.path}?virtual_host={db}"
        return url

    @property
    def redis_broker(self) -> bool:
        """Whether the broker is a Redis (not RabbitMQ)."""
        return not self.broker_url or self.broker_url.startswith(("redis", "rediss", "unix"))

    @property
    def restore_interval(self) -> int:
        """Seconds between looks for the messages and articles of vanished workers: a quarter of
        the visibility timeout, 1 to 60 s (kombu's own default is 100 s)."""
        return min(60, max(1, self.visibility_timeout // 4))

    @property
    def embedded_postgres(self) -> bool:
        return not self.postgres_dsn

    @property
    def postgres_dsn_file(self) -> Path:
        """Where `newsworker up` leaves the embedded PostgreSQL's DSN for other commands."""
        return self.home / "postgres.dsn"

    @property
    def effective_postgres_dsn(self) -> str:
        """NEWSWORKER_POSTGRES_DSN, else the embedded PostgreSQL's (empty if it never ran)."""
        if self.postgres_dsn:
            return self.postgres_dsn
        try:
            return self.postgres_dsn_file.read_text().strip()
        except OSError:
            return ""

    @property
    def sink_names(self) -> list[str]:
        return [s.strip() for s in self.sinks.split(",") if s.strip()]

    def masked(self) -> dict[str, object]:
        """Settings as a dict with passwords in URLs replaced by ***."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in {"redis_url", "broker_url", "postgres_dsn"} and value:
                value = mask_url(str(value))
            elif name == "api_token" and value:
                value = "***"
            elif name == "flower_basic_auth" and value:
                value = value.split(":", 1)[0] + ":***"
            out[name] = str(value) if isinstance(value, Path) else value
        return out


def mask_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@functools.cache
def get_settings() -> Settings:
    return Settings()
