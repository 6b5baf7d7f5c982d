"""Per-source chrome learning: the same logic over a dict and over a real Redis."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from worker.clean import clean_page
from worker.clean.chrome import (
    MemoryCounts,
    RedisCounts,
    SourceChrome,
    line_hash,
    line_hashes,
    normalize_line,
    source_domain,
)
from worker.evaluate.clean import evaluate
from worker.schema import RawArticle

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
DEV = SHARED / "eval" / "clean" / "daniel_ru_dev.jsonl"

MENU = ["Главная", "Политика", "Экономика", "Общество", "Подписаться на рассылку"]
FOOTER = ["© 2012 Омск-Таймс. Все права защищены.", "Просмотров: 527"]


def spelled(n: int) -> str:
    """``n`` in letters (numbers all normalise to 0)."""
    return "".join("абвгдежзик"[int(d)] for d in str(n))


def article(n: int) -> list[str]:
    """The lines of the n-th article of a made-up source: its menu, its own text, its footer."""
    body = [
        f"Статья «{spelled(n)}» рассказывает о событии, которого не было в других статьях.",
        f"Второй абзац статьи «{spelled(n)}» продолжает рассказ, он тоже только в ней.",
    ]
    return [*MENU, *body, *FOOTER]


def body_of(n: int) -> list[str]:
    return article(n)[len(MENU) : -len(FOOTER)]


@pytest.fixture(params=["memory", "redis"])
def counts(request):
    if request.param == "memory":
        return MemoryCounts()
    ledger = request.getfixturevalue("ledger")
    return RedisCounts(ledger.redis, f"{ledger.keys.chrome}:{uuid.uuid4().hex[:8]}", ttl=600)


# --- lines and their hashes ----------------------------------------------------------------------


def test_normalize_line_ignores_case_punctuation_numbers_and_yo():
    assert normalize_line("  Ещё: Просмотров — 527!") == "еще просмотров 0"
    assert normalize_line("ЕЩЕ просмотров 12") == "еще просмотров 0"
    assert normalize_line("12:30 — 15.01.2012") == ""  # nothing but numbers


def test_line_hash_is_stable_and_short():
    assert line_hash("Просмотров: 527") == line_hash("просмотров 3")
    assert line_hash("Просмотров: 527") != line_hash("Комментариев: 527")
    assert len(line_hash("Главная") or "") == 16
    assert line_hash("2012") is None
    assert line_hashes(["Главная", "главная!", "12:30", "Политика"]) == {
        line_hash("Главная"),
        line_hash("Политика"),
    }


@pytest.mark.parametrize(
    ("source", "url", "domain"),
    [
        ("www.Regnum.ru", None, "regnum.ru"),
        (None, "https://www.ria.ru/society/20120106/1.html", "ria.ru"),
        ("  ", "http://rus.ruvr.ru/2012/01/06/63446204.html", "rus.ruvr.ru"),
        ("lenta.ru", "https://ria.ru/x", "lenta.ru"),
        (None, "http://[::1/broken", None),
        (None, None, None),
    ],
)
def test_source_domain(source, url, domain):
    assert source_domain(source, url) == domain


# --- learning, on both backends ------------------------------------------------------------------


def test_lines_of_two_articles_are_chrome_and_their_own_lines_are_not(counts):
    chrome = SourceChrome(counts, min_count=2)
    assert chrome.learn("omsk.ru", article(1), body_of(1))
    assert chrome.known("omsk.ru") == set()  # seen once: not yet
    assert chrome.learn("omsk.ru", article(2), body_of(2))
    assert chrome.known("omsk.ru") == line_hashes(MENU + FOOTER)
    assert chrome.known("other.ru") == set()  # per source


def test_an_article_sent_again_teaches_nothing(counts):
    chrome = SourceChrome(counts, min_count=2)
    assert chrome.learn("omsk.ru", article(1), body_of(1))
    assert not chrome.learn("omsk.ru", article(1), body_of(1))
    # a new version of the story: the same paragraphs, one more at the end
    update = [*body_of(1), "Обновлено: к вечеру стали известны новые подробности этой истории."]
    assert not chrome.learn("omsk.ru", [*MENU, *update, *FOOTER], update)
    assert chrome.known("omsk.ru") == set()  # so its paragraphs never become chrome


def test_counts_halve_every_window_and_old_lines_fade(counts):
    chrome = SourceChrome(counts, min_count=2, window=4)
    old_widget = "Опрос недели: как вы встретили Новый год?"
    for n in range(1, 4):
        chrome.learn("omsk.ru", [*article(n), old_widget], body_of(n))
    assert line_hash(old_widget) in chrome.known("omsk.ru")
    for n in range(4, 12):  # the widget is gone from the pages; two halvings later, from memory
        chrome.learn("omsk.ru", article(n), body_of(n))
    known = chrome.known("omsk.ru")
    assert line_hash(old_widget) not in known
    assert known == line_hashes(MENU + FOOTER)  # lines of every page stay
    assert counts.counts("omsk.ru", sorted(line_hashes(body_of(11)))) == [1, 1]
    assert counts.counts("omsk.ru", sorted(line_hashes(body_of(2)))) == [0, 0]  # forgotten


def test_a_source_table_stays_bounded(counts):
    chrome = SourceChrome(counts, min_count=2, window=1000, max_lines=30)
    for n in range(1, 40):
        own = [f"Абзац {c} статьи {spelled(n)}, его нет в других статьях." for c in "абвгде"]
        chrome.learn("omsk.ru", [*MENU, *own], own)
        assert len(counts.at_least("omsk.ru", 1)) <= 30 + len(MENU) + len(own)
    assert chrome.known("omsk.ru") == line_hashes(MENU)


def test_options_are_checked():
    with pytest.raises(ValueError):
        SourceChrome(MemoryCounts(), min_count=3, window=4)
    with pytest.raises(ValueError):
        SourceChrome(MemoryCounts(), min_count=0)


def test_redis_keys_expire(ledger):
    prefix = f"{ledger.keys.chrome}:{uuid.uuid4().hex[:8]}"
    chrome = SourceChrome.in_redis(ledger.redis, prefix, ttl=120)
    chrome.learn("omsk.ru", article(1), body_of(1))
    assert 0 < ledger.redis.ttl(f"{prefix}:omsk.ru") <= 120
    assert 0 < ledger.redis.ttl(f"{prefix}:omsk.ru:articles") <= 120
    assert ledger.redis.get(f"{prefix}:omsk.ru:articles") == b"1"


# --- on the dev pages ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def regnum_pages() -> list[dict]:
    with DEV.open(encoding="utf-8") as lines:
        pages = [json.loads(line) for line in lines]
    return [p for p in pages if p["domain"] == "www.regnum.ru"]


def test_a_source_chrome_is_learned_from_its_pages(regnum_pages):
    chrome = SourceChrome.in_memory()
    for page in regnum_pages[:4]:
        cleaned, lines = clean_page(RawArticle(html=page["html"]))
        chrome.learn("regnum.ru", lines, cleaned.text.split("\n\n"))
    known = chrome.known("regnum.ru")
    page = regnum_pages[4]
    cleaned, lines = clean_page(RawArticle(html=page["html"]))
    hashes = [line_hash(line) for line in lines]
    assert sum(h in known for h in hashes) > len(lines) / 2  # most of a page is chrome
    paragraphs = cleaned.text.split("\n\n")
    assert not line_hashes(paragraphs) & known  # none of its own article is
    assert line_hash("ИА REGNUM") in known


def test_learned_chrome_is_dropped_from_the_text(regnum_pages):
    page = regnum_pages[5]
    plain = clean_page(RawArticle(html=page["html"]))[0].text.split("\n\n")
    kept, dropped = plain[:-1], plain[-1]
    cleaned = clean_page(RawArticle(html=page["html"]), chrome={line_hash(dropped)})[0]
    assert cleaned.text.split("\n\n") == kept


def test_learned_chrome_is_dropped_from_plain_text():
    sample = (SHARED / "samples" / "gazeta_2017_putin_trump_call.txt").read_text(encoding="utf-8")
    plain = clean_page(RawArticle(text=sample))[0]
    paragraphs = plain.text.split("\n\n")
    known = {line_hash(paragraphs[-1]), line_hash("Газета.Ru в Telegram")}
    cleaned, lines = clean_page(RawArticle(text=sample), chrome=known)
    assert cleaned.text.split("\n\n") == paragraphs[:-1]
    assert (cleaned.title, cleaned.subtitle) == (plain.title, plain.subtitle)
    assert "Газета.Ru в Telegram" in lines  # what is learned from: all the page's lines


def test_replay_evaluation_learns_and_does_not_lose(tmp_path):
    subset = tmp_path / "regnum.jsonl"
    lines = DEV.read_text(encoding="utf-8").splitlines(keepends=True)
    subset.write_text("".join(ln for ln in lines if '"www.regnum.ru"' in ln), encoding="utf-8")
    plain = evaluate(subset, "html", progress=False)
    replay = evaluate(subset, "html", progress=False, replay=True)
    assert (plain["replay"], replay["replay"]) == (False, True)
    assert replay["empty_outputs"] == 0
    assert replay["bag"]["precision"] >= plain["bag"]["precision"]
    assert replay["bag"]["f1"] >= plain["bag"]["f1"] - 0.005
