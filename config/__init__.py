"""All settings of newsworker, read from the environment (prefix ``NEWSWORKER_``).

Every variable is documented in the README's "Configuration" table; ``newsworker config``
prints the values in force (secrets masked).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "newsworker"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSWORKER_", extra="ignore")

    # --- where things live -------------------------------------------------------------
    home: Path = Field(
        default_factory=_default_home,
        description="Data directory of the embedded Redis (socket, append-only file).",
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
        "redis",
        description="Comma-separated sinks every processed article is delivered to: "
        "redis, jsonl, postgres.",
    )
    stream: str = Field("articles", description="Stream (after the prefix) announcing records.")
    dead_stream: str = Field("dead", description="Stream (after the prefix) of dead letters.")
    stream_maxlen: int = Field(
        0, description="Approximate cap on the stream's length; 0 keeps everything."
    )
    jsonl_path: Path = Field(Path("articles.jsonl"), description="File of the jsonl sink.")
    postgres_dsn: str = Field(
        "postgresql://postgres@127.0.0.1:5432/postgres", description="DSN of the postgres sink."
    )
    postgres_table: str = Field("articles", description="Table of the postgres sink.")

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
    learn_chrome: bool = Field(
        True,
        description="Learn per source (domain) which lines recur across its articles, and "
        "drop them as chrome.",
    )
    reject_non_russian: bool = Field(
        False, description="Dead-letter articles whose text is not Russian."
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

    # --- flower and logs -----------------------------------------------------------------
    flower_address: str = Field("127.0.0.1", description="Address Flower listens on.")
    flower_port: int = Field(5555, description="Port Flower listens on.")
    flower_basic_auth: str = Field(
        "",
        description="user:password for Flower's basic auth; empty: generated once and kept in "
        "NEWSWORKER_HOME/flower-auth.",
    )
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
    def sink_names(self) -> list[str]:
        return [s.strip() for s in self.sinks.split(",") if s.strip()]

    def masked(self) -> dict[str, object]:
        """Settings as a dict with passwords in URLs replaced by ***."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in {"redis_url", "broker_url", "postgres_dsn"} and value:
                value = mask_url(str(value))
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
