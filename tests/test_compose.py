"""docker-compose.yml is valid Compose (spec-validating parser) and matches the README install."""

from __future__ import annotations

from compose_spec import PyOptions
from conftest import ROOT


def _compose() -> dict:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = PyOptions(apply_merge=True).from_yaml(text)
    compose.validate()
    return compose.to_dict()


def test_compose_file_is_valid_and_complete():
    services = _compose()["services"]
    assert set(services) == {"redis", "postgres", "worker", "flower", "api"}
    for name, service in services.items():
        assert "healthcheck" in service, name
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in redis_cmd
    for name in ("worker", "flower", "api"):
        env = services[name]["environment"]
        assert env["NEWSWORKER_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
        assert env["NEWSWORKER_POSTGRES_DSN"].startswith("postgresql://newsworker:")
        assert "postgres" in env["NEWSWORKER_SINKS"]
        assert services[name]["build"] == "."
        assert set(services[name]["depends_on"]) == {"redis", "postgres"}
    assert "NEWSWORKER_FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    assert services["api"]["command"] == ["newsworker", "api"]
    assert services["api"]["environment"]["NEWSWORKER_API_TOKEN"].startswith("${API_TOKEN")


def test_image_installs_with_the_readme_install_script():
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "RUN bash scripts/install.sh" in dockerfile
    assert "scripts/install.sh" in readme
