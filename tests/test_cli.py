"""The `newsworker` command: help, config, schema, process; and the README documents it all."""

from __future__ import annotations

import json
import re
import uuid

from conftest import ROOT, SAMPLE, newsworker

from config import Settings

COMMANDS = ["up", "worker", "flower", "submit", "watch", "consume", "process", "eval", "bench",
            "dead", "retry-dead", "health", "schema", "config"]  # fmt: skip


def test_help_lists_every_command():
    out = newsworker("--help")
    assert out.returncode == 0
    for command in COMMANDS:
        assert re.search(rf"^\s+{command}\s", out.stdout, re.M), command


def test_readme_documents_every_setting_and_command():
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        assert f"`NEWSWORKER_{name.upper()}`" in readme, name
    for command in COMMANDS:
        assert f"newsworker {command}" in readme, command


def test_config_masks_passwords():
    out = newsworker("config", env={"NEWSWORKER_REDIS_URL": "redis://:hunter2@example:6379/0"})
    assert out.returncode == 0
    assert "hunter2" not in out.stdout
    assert json.loads(out.stdout)["redis_url"] == "redis://:***@example:6379/0"


def test_schema_is_the_record_schema():
    schema = json.loads(newsworker("schema").stdout)
    assert schema["title"] == "Record"
    assert {"id", "text", "entities", "summary", "schema_version"} <= set(schema["properties"])


def test_process_runs_every_stage_without_a_broker():
    out = newsworker("process", str(SAMPLE), env={"NEWSWORKER_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout)
    assert record["title"] == "Президенты поговорили о Корее"
    assert any(e["normal"] == "Владимир Путин" for e in record["entities"])
    assert record["summary"]["sentences"]


def test_process_reports_bad_input_clearly(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "no body"}')
    out = newsworker("process", str(bad))
    assert out.returncode == 1
    assert "needs a non-empty 'text' or 'html'" in out.stderr


def test_submit_without_redis_is_a_clear_error():
    out = newsworker("submit", str(SAMPLE), env={"NEWSWORKER_REDIS_URL": "redis://127.0.0.1:1/0"})
    assert out.returncode == 1
    assert "cannot reach NEWSWORKER_REDIS_URL" in out.stderr


def test_flower_credentials_are_generated_once_and_private(tmp_path):
    import stat

    from worker.embedded import flower_command, flower_credentials

    settings = Settings(home=tmp_path, flower_basic_auth="")
    first = flower_credentials(settings)
    user, password = first.split(":", 1)
    assert user == "admin" and len(password) >= 16
    assert flower_credentials(settings) == first
    assert stat.S_IMODE((tmp_path / "flower-auth").stat().st_mode) == 0o600
    cmd, env = flower_command(settings)
    assert env == {"FLOWER_BASIC_AUTH": first}
    assert password not in " ".join(cmd)  # not visible in the process list
    given = Settings(home=tmp_path, flower_basic_auth="me:pw")
    assert flower_command(given)[1] == {"FLOWER_BASIC_AUTH": "me:pw"}


def test_submit_edge_cases_a_new_user_hits(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    out = newsworker("submit", str(tmp_path / "empty.jsonl"))
    assert out.returncode == 0, out.stderr
    assert f"nothing to submit in {tmp_path / 'empty.jsonl'}" in out.stderr
    assert json.loads(out.stdout) == {"submitted": 0, "queued": 0, "duplicates": 0}
    (tmp_path / "doc.docx").write_bytes(b"PK\x03\x04")
    out = newsworker("submit", str(tmp_path / "doc.docx"))
    assert out.returncode == 2 and ".docx files are not supported" in out.stderr
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "doc.pdf").write_bytes(b"%PDF")
    (folder / "a.TXT").write_text("Статья о погоде " + uuid.uuid4().hex)
    out = newsworker("submit", str(folder))
    summary = json.loads(out.stdout)
    assert summary["skipped"] == 1 and summary["submitted"] == 1
    out = newsworker("submit", "--encoding", "no-such-codec", str(folder / "a.TXT"))
    assert out.returncode == 1 and "unknown encoding" in out.stderr
