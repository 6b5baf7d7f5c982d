"""worker.pipeline: the steps the tasks and `process` share, without Celery."""

from __future__ import annotations

import uuid

from worker import pipeline
from worker.clean.chrome import SourceChrome
from worker.schema import RawArticle

SIGNOFF = "Редакция сайта благодарит читателей за внимание к нашим материалам и просит писать нам."


TOPICS = ["бюджет", "дороги", "школы", "больницы", "парки"]
PLACES = ["Твери", "Рязани", "Самаре", "Казани", "Перми"]


def _article(n: int) -> RawArticle:
    """Articles of one source with bodies of their own and the same sign-off line."""
    topic, place = TOPICS[n - 1], PLACES[n - 1]
    body = "\n\n".join(
        [
            f"В {place} депутаты городской думы обсудили {topic} на заседании во вторник.",
            f"Мэр {place} пообещал вернуться к вопросу ({topic}) после консультаций с жителями.",
            f"Жители {place} считают, что {topic} важнее всего остального в этом году.",
        ]
    )
    return RawArticle(text=f"{body}\n\n{SIGNOFF}", source="example-news.ru")


def test_run_clean_learns_a_sources_chrome_in_redis(ledger, settings):
    chrome = SourceChrome.in_redis(ledger.redis, f"{ledger.keys.chrome}:{uuid.uuid4().hex}")
    first = pipeline.run_clean("a1", "1", "json", _article(1), settings, chrome)
    assert SIGNOFF in first.clean.text  # alone, it reads like prose
    for n in (2, 3):
        pipeline.run_clean(f"a{n}", "1", "json", _article(n), settings, chrome)
    later = pipeline.run_clean("a4", "1", "json", _article(4), settings, chrome)
    assert SIGNOFF not in later.clean.text
    assert "Казани" in later.clean.text
    # Without learning (as `newsworker process` runs), the line stays.
    assert SIGNOFF in pipeline.run_clean("a5", "1", "json", _article(5), settings).clean.text
