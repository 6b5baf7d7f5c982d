"""deploy/: the Prometheus configuration and alert rules pass promtool (syntax and the unit
tests in alerts_test.yml); every query of the Grafana dashboard is valid PromQL and uses only
metrics a worker exports; the dashboard shows every metric the README documents."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT
from prometheus_client import REGISTRY

from worker.ops import metrics

DEPLOY = ROOT / "deploy"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "newsworker.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    promtool is None, reason="promtool not installed (Debian package prometheus; .ci/run adds it)"
)


def _run(*args: str) -> str:
    assert promtool is not None
    out = subprocess.run(
        [promtool, *args], capture_output=True, text=True, cwd=DEPLOY / "prometheus"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


def exported_names(settings) -> set[str]:
    """Names a worker exports: the event metrics, and the state read from a real Redis."""
    names = {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("newsworker_")
        for suffix in (("_total",) if family.type == "counter" else ("_bucket", "_sum", "_count"))
    }
    names |= {family.name for family in metrics.StateCollector(settings).collect()}
    return names


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def alert_queries() -> list[str]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule["expr"] for g in groups for rule in g["rules"]]


@needs_promtool
def test_prometheus_config_and_rules_check():
    assert "SUCCESS" in _run("check", "config", "prometheus.yml")
    assert "6 rules found" in _run("check", "rules", "alerts.yml")


@needs_promtool
def test_alerts_fire_as_their_unit_tests_expect():
    assert "SUCCESS" in _run("test", "rules", "alerts_test.yml")


@needs_promtool
def test_dashboard_queries_are_valid_promql(tmp_path):
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query{i}", "expr": q} for i, q in enumerate(dashboard_queries())
    ]}]}  # fmt: skip
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    assert f"{len(dashboard_queries())} rules found" in _run("check", "rules", str(path))


def test_dashboard_and_alerts_use_only_exported_metrics(settings):
    exported = exported_names(settings)
    used = set()
    for query in dashboard_queries() + alert_queries():
        used |= set(re.findall(r"\bnewsworker_[a-z_]+", query))
    assert used <= exported, used - exported


def test_dashboard_shows_every_documented_metric(settings):
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"`(newsworker_[a-z_]+)`", readme))
    families = {n.removesuffix("_total") for n in exported_names(settings) if "_bucket" not in n}
    families = {n.removesuffix("_sum").removesuffix("_count") for n in families}
    assert families - {"newsworker_scrape_errors"} <= documented, families - documented
    shown = " ".join(dashboard_queries())
    for name in documented - {"newsworker_scrape_errors"}:
        assert name in shown, name
