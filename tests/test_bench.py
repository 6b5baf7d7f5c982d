"""`newsworker bench` runs end to end and reports every figure the issue asks for (its numbers
are not checked here: they are measurements, not behaviour)."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT, SAMPLE, newsworker


def test_bench_reports_every_figure():
    out = newsworker("bench", str(SAMPLE), "-n", "6", "-p", "1", timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["articles"] == 6
    for key in ("inprocess_articles_per_s", "naive_natasha_articles_per_s",
                "ner_only_articles_per_s", "celery_articles_per_s",
                "celery_1_process_articles_per_s", "celery_without_grouping_articles_per_s",
                "p50_ms", "p95_ms"):  # fmt: skip
        assert result[key] > 0, key
    stages = {"clean", "entities", "summarize"}
    assert set(result["stage_articles_per_s"]) == stages
    assert set(result["stage_floor_ms_per_article"]) == stages
    for stage in stages:  # a stage costs at least its floor
        assert result["stage_ms_per_article"][stage] >= result["stage_floor_ms_per_article"][stage]
        assert result["stage_vs_floor"][stage] >= 1
    assert result["stage_floor_ms_per_article"]["entities"] > 0
    assert result["inprocess_cpu_ms_per_article"] == pytest.approx(
        sum(result["stage_ms_per_article"].values()), abs=0.05
    )
    assert result["long_article"]["chars"] == 256_000
    assert result["long_article"]["peak_mb_added"] > 0
    recorded = json.loads((ROOT / "worker/bench_baseline.json").read_text())
    assert result["baseline"] == recorded and len(recorded["commit"]) == 40
    assert result["inprocess_cpu_vs_baseline"] > 0
    assert result["pss_mb_per_worker_process"] and all(
        50 < p < 2000 for p in result["pss_mb_per_worker_process"]
    )
    assert set(result["ratios"]) == {
        "celery_vs_inprocess_times_processes", "entities_vs_naive_natasha",
        "entities_vs_ner_only", "celery_1_vs_1_process", "flower_events_cost",
        "stages_share_of_pool_cpu", "with_vs_without_grouping",
        "celery_without_grouping_vs_inprocess_times_processes",
    }  # fmt: skip
    assert set(result["celery_cpu_ms_per_article"]) == {"pool", "worker_main", "producer", "redis"}
    assert result["celery_cpu_ms_per_article"]["pool"] > 0
    assert result["machine"]["load_average_at_start"]
    counted = result["redis_commands"]  # every stage of every article costs Redis commands
    assert counted["articles"] == 6 and counted["commands_per_article_per_stage"] > 0
    assert counted["including_scripts_inner_commands"] > counted["commands_per_article_per_stage"]
    assert counted["by_command_per_article"]["evalsha"] > 0


def test_bench_stories_reports_the_index_at_each_size():
    out = newsworker("bench", "--stories", "--sizes", "300,600", timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [r["indexed"] for r in result["stories_index"]] == [300, 600]
    for row in result["stories_index"]:
        assert row["insert_query_ms_mean"] > 0 and row["redis_bytes_per_article"] > 0
    assert result["slowest_vs_fastest"] >= 1
