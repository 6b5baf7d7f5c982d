"""Strict configuration: unknown NEWSWORKER_* names stop every command with the nearest valid
one; sinks, URLs and limits are checked at start; .env files and a secrets directory work."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from conftest import BIN, SAMPLE, newsworker

COMMANDS = [["config"], ["submit", str(SAMPLE)], ["consume"], ["dead"], ["worker"], ["up"],
            ["process", str(SAMPLE)], ["flower"], ["retry-dead"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_typo_stops_every_command_naming_the_setting_meant(command):
    out = newsworker(*command, env={"NEWSWORKER_SINK": "postgres"}, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "unknown setting NEWSWORKER_SINK in the environment" in out.stderr
    assert "did you mean NEWSWORKER_SINKS?" in out.stderr
    assert out.stdout == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NEWSWORKER_SINKS": "redis,postgress"}, "unknown sink 'postgress' in NEWSWORKER_SINKS;"
         " did you mean 'postgres'?"),
        ({"NEWSWORKER_SINKS": " , "}, "NEWSWORKER_SINKS is empty"),
        ({"NEWSWORKER_REDIS_URL": "http://127.0.0.1:6379"}, "NEWSWORKER_REDIS_URL must start with"),
        ({"NEWSWORKER_REDIS_URL": "redis://h:port/0"}, "NEWSWORKER_REDIS_URL is not a valid URL"),
        ({"NEWSWORKER_BROKER_URL": "amqp:///"}, "NEWSWORKER_BROKER_URL names no host"),
        ({"NEWSWORKER_SINKS": "postgres", "NEWSWORKER_POSTGRES_DSN": "mysql://x/y"},
         "NEWSWORKER_POSTGRES_DSN must start with postgresql://"),
        ({"NEWSWORKER_MAX_PAYLOAD_BYTES": "0"}, "NEWSWORKER_MAX_PAYLOAD_BYTES must be positive"),
        ({"NEWSWORKER_BATCH_SIZE": "0"}, "NEWSWORKER_BATCH_SIZE: Input should be greater"),
        ({"NEWSWORKER_CONCURRENCY": "many"}, "NEWSWORKER_CONCURRENCY: Input should be a valid"),
        ({"NEWSWORKER_LOG_LEVEL": "LOUD"}, "NEWSWORKER_LOG_LEVEL='LOUD'"),
        ({"NEWSWORKER_FLOWER_PORT": "70000"}, "NEWSWORKER_FLOWER_PORT must be a port"),
    ],
)  # fmt: skip
def test_bad_values_stop_at_start(env, message):
    out = newsworker("config", env=env, timeout=60)
    assert out.returncode == 1 and message in out.stderr, out.stderr


def test_unknown_names_without_a_near_one_point_to_config():
    out = newsworker("config", env={"NEWSWORKER_XYZZY": "1"})
    assert out.returncode == 1
    assert "unknown setting NEWSWORKER_XYZZY" in out.stderr and "newsworker config" in out.stderr


def test_env_file_and_secrets_dir(tmp_path):
    (tmp_path / ".env").write_text("NEWSWORKER_SINKS=redis,jsonl\nNEWSWORKER_BATCH_SIZE=7\n")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "NEWSWORKER_FLOWER_BASIC_AUTH").write_text("admin:from-a-secret\n")
    env = {"NEWSWORKER_ENV_FILE": str(tmp_path / ".env"), "NEWSWORKER_SECRETS_DIR": str(secrets)}
    # The harness sets NEWSWORKER_SINKS: without it in the environment, the file's holds.
    out = _run_without(["NEWSWORKER_SINKS", "NEWSWORKER_BATCH_SIZE"], env)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert shown["sinks"] == "redis,jsonl" and shown["batch_size"] == 7
    assert shown["flower_basic_auth"] == "admin:***"
    # The environment wins over the file.
    over = _run_without(["NEWSWORKER_BATCH_SIZE"], {**env, "NEWSWORKER_SINKS": "redis"})
    assert json.loads(over.stdout)["sinks"] == "redis"
    # A typo in the file is named with the file.
    (tmp_path / ".env").write_text("NEWSWORKER_BATCH_SIZ=7\n")
    bad = _run_without(["NEWSWORKER_SINKS", "NEWSWORKER_BATCH_SIZE"], env)
    assert bad.returncode == 1
    assert f"NEWSWORKER_BATCH_SIZ in {tmp_path / '.env'}" in bad.stderr
    assert "did you mean NEWSWORKER_BATCH_SIZE?" in bad.stderr
    # And one in the secrets directory.
    (tmp_path / ".env").write_text("")
    (secrets / "NEWSWORKER_REDIS_PASSWORD").write_text("x")
    bad = _run_without(["NEWSWORKER_SINKS", "NEWSWORKER_BATCH_SIZE"], env)
    assert bad.returncode == 1 and f"NEWSWORKER_REDIS_PASSWORD in {secrets}" in bad.stderr


def _run_without(names: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in {**os.environ, **env}.items() if k not in names}
    return subprocess.run(
        [str(BIN / "newsworker"), "config"], env=full, capture_output=True, text=True, timeout=60
    )
