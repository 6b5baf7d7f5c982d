"""Strict configuration: what ``newsworker`` checks before any command runs.

- every ``NEWSWORKER_*`` variable (in the environment, the ``.env`` file, the secrets
  directory) must be a setting: a typo stops the command with the nearest valid name;
- sink names, URLs and limits must make sense, so that a mistake shows at start, not at the
  first article that needs it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from config import Settings, env_file, secrets_dir

PREFIX = "NEWSWORKER_"

SINKS = ("redis", "jsonl", "postgres")
"""Sink names ``NEWSWORKER_SINKS`` accepts (``worker.sinks.build_sinks`` builds them)."""

NOT_SETTINGS = ("NEWSWORKER_ENV_FILE", "NEWSWORKER_SECRETS_DIR", "NEWSWORKER_VENV")
"""Variables that are not settings but are read by newsworker's tools: where the ``.env``
file and the secrets directory are, the virtualenv of ``scripts/install.sh``."""

NOT_SETTINGS_PREFIXES = ("NEWSWORKER_TEST_",)
"""Variables of the test harness (``tests/conftest.py``)."""

REDIS_SCHEMES = ("redis", "rediss", "unix")
BROKER_SCHEMES = (*REDIS_SCHEMES, "redis+socket", "amqp", "amqps", "pyamqp", "sentinel")
POSTGRES_SCHEMES = ("postgresql", "postgres")


class ConfigError(ValueError):
    """A setting that cannot work; the message names it and what would."""


def known_variables() -> list[str]:
    return [PREFIX + name.upper() for name in Settings.model_fields] + list(NOT_SETTINGS)


def check_names(names: Iterable[str], where: str = "the environment") -> None:
    """Raise :class:`ConfigError` for a ``NEWSWORKER_*`` name that is no setting."""
    known = known_variables()
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith(PREFIX) or upper in known:
            continue
        if upper.startswith(NOT_SETTINGS_PREFIXES):
            continue
        # Compared without the prefix, which every name shares.
        near = difflib.get_close_matches(
            upper[len(PREFIX) :], [k[len(PREFIX) :] for k in known], n=1, cutoff=0.6
        )
        hint = f"; did you mean {PREFIX}{near[0]}?" if near else "; `newsworker config` lists them"
        raise ConfigError(f"unknown setting {name} in {where}{hint}")


def configured_names(environ: Mapping[str, str]) -> dict[str, list[str]]:
    """The NEWSWORKER_* names set, by where they are set."""
    out = {"the environment": [k for k in environ if k.upper().startswith(PREFIX)]}
    dotenv = env_file(environ)
    if dotenv.is_file():
        from dotenv import dotenv_values

        out[str(dotenv)] = [k for k in dotenv_values(dotenv) if k.upper().startswith(PREFIX)]
    secrets = secrets_dir(environ)
    if secrets.is_dir():
        out[str(secrets)] = [p.name for p in secrets.iterdir() if p.name.upper().startswith(PREFIX)]
    return out


def check_values(settings: Settings) -> None:
    """Raise :class:`ConfigError` for a sink, URL or limit that cannot work."""
    for name in settings.sink_names:
        if name not in SINKS:
            near = difflib.get_close_matches(name, SINKS, n=1)
            hint = f"did you mean {near[0]!r}?" if near else f"choose from {', '.join(SINKS)}"
            raise ConfigError(f"unknown sink {name!r} in NEWSWORKER_SINKS; {hint}")
    if not settings.sink_names:
        raise ConfigError(f"NEWSWORKER_SINKS is empty; choose from {', '.join(SINKS)}")
    _url("NEWSWORKER_REDIS_URL", settings.redis_url, REDIS_SCHEMES)
    _url("NEWSWORKER_BROKER_URL", settings.broker_url, BROKER_SCHEMES)
    if "postgres" in settings.sink_names and "://" in settings.postgres_dsn:
        _url("NEWSWORKER_POSTGRES_DSN", settings.postgres_dsn, POSTGRES_SCHEMES)
    positive = (
        "payload_ttl", "max_payload_bytes", "max_text_chars", "max_memory_mb", "flower_port",
    )  # fmt: skip
    for name in positive:
        if getattr(settings, name) < (0 if name == "flower_port" else 1):
            raise ConfigError(f"NEWSWORKER_{name.upper()} must be positive")
    for name in ("max_retries",):
        if getattr(settings, name) < 0:
            raise ConfigError(f"NEWSWORKER_{name.upper()} must not be negative")
    for name in ("flower_port",):
        if getattr(settings, name) > 65535:
            raise ConfigError(f"NEWSWORKER_{name.upper()} must be a port (0-65535)")
    if 0 < settings.record_ttl <= settings.visibility_timeout:
        raise ConfigError(
            "NEWSWORKER_RECORD_TTL must exceed NEWSWORKER_VISIBILITY_TIMEOUT (or be 0): a "
            "message redelivered after the state expired would process the article again"
        )
    if settings.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(
            f"NEWSWORKER_LOG_LEVEL={settings.log_level!r}: one of DEBUG, INFO, WARNING, ERROR"
        )


def _url(name: str, value: str, schemes: tuple[str, ...]) -> None:
    if not value:
        return
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as exc:
        raise ConfigError(f"{name} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes:
        raise ConfigError(
            f"{name} must start with {' or '.join(s + '://' for s in schemes)} "
            f"(got {parts.scheme or 'no scheme'}://…)"
        )
    if parts.scheme not in ("unix", "redis+socket") and not parts.hostname:
        raise ConfigError(f"{name} names no host")


def check(environ: Mapping[str, str] | None = None) -> Settings:
    """Every check above; returns the settings in force."""
    from pydantic import ValidationError

    environ = os.environ if environ is None else environ
    for where, names in configured_names(environ).items():
        check_names(names, where)
    try:
        settings = Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"NEWSWORKER_{'_'.join(map(str, e['loc'])).upper() or 'SETTINGS'}: {e['msg']}"
            for e in exc.errors()
        )
        raise ConfigError(problems) from None
    check_values(settings)
    return settings
