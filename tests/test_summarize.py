"""The summariser (worker.summarize.summarize) and the summary evaluation's metric functions."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import pytest

from worker.entities import extract, sentences
from worker.evaluate import summarize as evaluation
from worker.schema import Entities, Summary
from worker.summarize import jaccard, summarize, words

SAMPLE = Path(__file__).resolve().parents[2] / "shared/samples/gazeta_2017_putin_trump_call.txt"
BUDGETS = [{"sentences": n} for n in (1, 2, 3, 5, 8)] + [{"chars": n} for n in (120, 300, 600)]


@pytest.fixture(scope="module")
def body() -> str:
    """The article body: the 17 paragraphs between the subtitle and «Новости и материалы»."""
    raw = SAMPLE.read_text(encoding="utf-8")
    start = raw.index("Президенты России и США Владимир Путин")
    return raw[start : raw.index("Новости и материалы")].strip()


@pytest.fixture(scope="module")
def found(body: str) -> Entities:
    return extract(body, published_at="2017-05-02")


def check_shape(text: str, summary: Summary) -> None:
    """Verbatim, whole sentences of ``text``, in article order, joined by spaces."""
    starts = {s.start: s for s in sentences(text)}
    assert summary.sentences
    for chosen in summary.sentences:
        assert text[chosen.start : chosen.stop] == chosen.text
        assert starts[chosen.start].stop == chosen.stop  # a whole sentence, never cut
    assert [s.start for s in summary.sentences] == sorted(s.start for s in summary.sentences)
    assert summary.text == " ".join(s.text for s in summary.sentences)


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
def test_summary_is_verbatim_ordered_and_within_budget(
    body: str, found: Entities, budget: dict[str, int]
) -> None:
    summary = summarize(body, found, **budget)
    check_shape(body, summary)
    if "sentences" in budget:
        assert len(summary.sentences) == budget["sentences"]
        assert summary.budget == f"{budget['sentences']} sentence" + "s" * (budget["sentences"] > 1)
    else:
        assert len(summary.text) <= budget["chars"]
        assert summary.budget == f"{budget['chars']} chars"


@pytest.mark.parametrize("budget", BUDGETS, ids=str)
def test_no_two_sentences_are_near_copies(
    body: str, found: Entities, budget: dict[str, int]
) -> None:
    # the sample repeats two lead sentences in its sixth paragraph
    chosen = summarize(body, found, **budget).sentences
    for a, b in combinations(chosen, 2):
        assert jaccard(words(a.text), words(b.text)) <= 0.5, (a.text, b.text)


def test_a_copy_is_never_picked_even_to_fill_the_budget() -> None:
    text = (
        "Президенты обсудили ситуацию на Корейском полуострове. "
        "Президенты обсудили ситуацию на Корейском полуострове. "
        "Стороны договорились о личной встрече в Гамбурге в июле."
    )
    chosen = [s.start for s in summarize(text, sentences=3).sentences]
    assert chosen == [0, text.rindex("Стороны")]


def test_the_sample_summary_has_the_news(body: str, found: Entities) -> None:
    text = summarize(body, found).text
    assert "третий телефонный разговор" in text
    assert "внешнеполитических ведомств" in text and "Сирии" in text


def test_a_tiny_char_budget_still_gives_one_sentence(body: str, found: Entities) -> None:
    summary = summarize(body, found, chars=10)
    check_shape(body, summary)
    assert len(summary.sentences) == 1


def test_sentences_leaning_on_others_are_avoided() -> None:
    text = (
        "Правительство утвердило новую программу развития железных дорог до 2030 года.\n\n"
        "Он отметил, что программа потребует значительных вложений из бюджета.\n\n"
        "Программа предусматривает строительство новых железных дорог в Сибири."
    )
    chosen = [s.text for s in summarize(text, sentences=2).sentences]
    assert chosen[0].startswith("Правительство")
    assert chosen[1].startswith("Программа предусматривает")


def test_summary_is_deterministic(body: str, found: Entities) -> None:
    assert summarize(body, found, chars=600) == summarize(body, found, chars=600)


def test_without_entities_and_without_text() -> None:
    assert summarize("Одно предложение о погоде в Москве.", sentences=3).text == (
        "Одно предложение о погоде в Москве."
    )
    empty = summarize("   ")
    assert (empty.text, empty.sentences) == ("", [])


def test_jaccard() -> None:
    assert jaccard(["а", "б"], ["б", "в"]) == pytest.approx(1 / 3)
    assert jaccard([], []) == 0.0
    assert words("Ёлка, «ёж» и 5 котов!") == ["елка", "еж", "и", "5", "котов"]


# --- the summary evaluation -----------------------------------------------------------------


def test_prepare_follows_the_gazeta_protocol() -> None:
    assert evaluation.prepare("Путин, Трамп и «Газпром».") == "путин , трамп и « газпром » ."


def test_rouge_of_identical_disjoint_and_empty_texts() -> None:
    same = evaluation.rouge_f1([("кошка сидит на окне", "Кошка сидит на окне")])
    assert same == {"rouge-1": 100.0, "rouge-2": 100.0, "rouge-l": 100.0}
    disjoint = evaluation.rouge_f1([("собака лает", "кошка сидит на окне")])
    assert disjoint == {"rouge-1": 0.0, "rouge-2": 0.0, "rouge-l": 0.0}
    half = evaluation.rouge_f1([("кошка сидит", "кошка сидит"), ("", "кошка сидит")])
    assert half["rouge-1"] == 50.0


def test_plain_text_of_an_html_fragment() -> None:
    html = (
        "<p><strong>москва, 1 дек&nbsp;&mdash; риа новости.</strong> пожар в цеху на севере "
        "москвы локализован, сообщила пресс-служба столичного главка мчс.</p>\n"
        "<p>ранее сообщалось, что в цеху начался крупный пожар на площади 2 тысячи метров.</p>"
    )
    text = evaluation.plain_text(html)
    assert "<" not in text and "&nbsp;" not in text
    assert "пожар в цеху на севере москвы локализован" in text
    assert evaluation.plain_text("  уже текст  ") == "уже текст"


def test_lead() -> None:
    text = "Первое предложение. Второе предложение.\n\nТретье предложение."
    assert evaluation.lead(text, 2) == "Первое предложение. Второе предложение."


@pytest.mark.parametrize(
    ("field", "override", "budget"),
    [("title", None, "1 sentence"), ("summary", None, "3 sentences"), ("title", 2, "2 sentences")],
)
def test_evaluate_on_a_tiny_file(
    tmp_path: Path, field: str, override: int | None, budget: str
) -> None:
    text = (
        "Правительство утвердило программу развития железных дорог. "
        "Программа рассчитана до 2030 года. Она потребует вложений из бюджета."
    )
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps({"text": text, field: "Правительство утвердило программу"}))
    result = evaluation.evaluate(path, progress=False, sentences=override)
    assert (result["articles"], result["reference"], result["budget"]) == (1, field, budget)
    assert set(result["ours"]) == set(result["lead"]) == {"rouge-1", "rouge-2", "rouge-l"}
    assert result["ours"]["rouge-1"] > 0
    json.dumps(result)
