"""`newsworker bench` runs end to end and reports every figure the issue asks for (its numbers
are not checked here: they are measurements, not behaviour)."""

from __future__ import annotations

import json

from conftest import SAMPLE, newsworker


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
    assert set(result["stage_articles_per_s"]) == {"clean", "entities", "summarize"}
    assert result["pss_mb_per_worker_process"] and all(
        50 < p < 2000 for p in result["pss_mb_per_worker_process"]
    )
    assert set(result["ratios"]) == {
        "celery_vs_inprocess_times_processes", "entities_vs_naive_natasha",
        "entities_vs_ner_only", "celery_1_vs_1_process", "flower_events_cost",
        "stages_share_of_pool_cpu", "with_vs_without_grouping",
    }  # fmt: skip
    assert set(result["celery_cpu_ms_per_article"]) == {"pool", "worker_main", "producer"}
    assert result["celery_cpu_ms_per_article"]["pool"] > 0


def test_bench_stories_reports_the_index_at_each_size():
    out = newsworker("bench", "--stories", "--sizes", "300,600", timeout=600)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert [r["indexed"] for r in result["stories_index"]] == [300, 600]
    for row in result["stories_index"]:
        assert row["insert_query_ms_mean"] > 0 and row["redis_bytes_per_article"] > 0
    assert result["slowest_vs_fastest"] >= 1
